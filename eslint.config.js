// Lint: typescript-eslint's recommended rules plus the boundaries the layout promises
// (docs/ARCHITECTURE.md): measure/ is pure and imports only types from the rest; engine/ never
// imports measure/; define/ does no I/O; nothing spreads an unbounded array into a call.
import tseslint from 'typescript-eslint';

const NODE_IO = ['node:fs', 'node:fs/promises', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:dgram', 'undici', 'pg', 'tsx/esm/api', 'zx'];
const io = NODE_IO.map((name) => ({ name, message: 'no I/O here: this layer is pure; do I/O at the edges (session/, cli/, observe/)' }));

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'out/**',
      'evidence-pack/**',
      '.drillbook/**',
      '.tmp-*/**',
      'bench/results/**',
      'packages/stage/src/service/page-bundle/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // A `let` assigned once later but read earlier by a closure (a health check) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name=/^(max|min)$/] > SpreadElement",
          message: 'Math.max/min(...array) overflows the call stack above ~125k elements: use a loop (or a reduce)',
        },
        {
          selector: 'CallExpression[callee.property.name=/^(push|unshift)$/] > SpreadElement',
          message: 'push(...array) overflows the call stack above ~125k elements: use a loop or concat',
        },
      ],
    },
  },
  {
    files: ['packages/harness/src/measure/**/*.ts', 'packages/harness/src/slo/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: io,
          patterns: [
            {
              group: [
                '../engine/*',
                '../observe/*',
                '../session/*',
                '../evidence/*',
                '../faults/*',
                '../load/*',
                '../synthetics/*',
                '../cli/*',
                '../build/*',
                '../project/*',
              ],
              allowTypeImports: true,
              message: 'measure/ is pure: import only types from other layers',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/harness/src/engine/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../measure/*'], message: 'engine/ never imports measure/: measures read the run log after the fact' }] },
      ],
    },
  },
  {
    files: ['packages/harness/src/define/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: io }] },
  },
);
