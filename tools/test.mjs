#!/usr/bin/env node
// The test command: lint, type-check the whole monorepo, then run the vitest lanes, and end
// with one plain "N passed, N failed" line that CI and people can read at a glance.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
// Each tool's JS entry runs on this script's own Node (process.execPath), not on whichever `node` its
// `#!/usr/bin/env node` line would find on PATH: lint, type-check and tests all see one Node.
const run = (script, args) => spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] }).status ?? 1;

// `--lane unit` runs the fast lane only (no stage, no real components); the default runs both.
const args = process.argv.slice(2);
const laneAt = args.indexOf('--lane');
const lane = laneAt >= 0 ? args[laneAt + 1] : undefined;
const extra = laneAt >= 0 ? args.filter((_, i) => i !== laneAt && i !== laneAt + 1) : args;

process.stderr.write('[test] linting (eslint, prettier --check)…\n');
if (run(bin('eslint'), ['.']) !== 0 || run(bin('prettier'), ['--check', '--log-level', 'warn', '.']) !== 0) {
  process.stderr.write("[test] lint problems above; 'npm run format' fixes formatting and what eslint can.\n");
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

process.stderr.write('[test] type-checking (tsc --noEmit)…\n');
if (run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']) !== 0) {
  process.stderr.write('[test] type errors above; fix them first.\n');
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'drillbook-test-'));
const report = join(tmp, 'vitest.json');
const status = run(bin('vitest'), [
  'run',
  ...(lane ? ['--project', lane] : []),
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...extra,
]);
let summary = 'tests: could not read the vitest report';
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A file whose setup failed has no failed test but did not pass: count it as a failure.
  const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')).length;
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed${skipped ? `, ${skipped} skipped` : ''}`;
  if (r.numTotalTests === 0) summary += ' (no test ran)';
} catch {}
rmSync(tmp, { recursive: true, force: true });
console.log(summary);
process.exit(status);
