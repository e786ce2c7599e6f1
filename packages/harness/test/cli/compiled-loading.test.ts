// How the compiled `drill` (what npm installs) loads a team's definition files: Node's own type
// stripping first, tsx where Node cannot (project/ts-import.ts). Through the real binary, in a
// CommonJS project (what `npm init -y` writes) and in an ES module one: valid files load without
// a warning on stderr, a syntax error still names file:line:column, and what only tsx can load
// (an extensionless import, an enum) still loads.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '../../../..');
const bin = join(repo, 'packages', 'harness', 'bin', 'drill.js');
// Inside the repository, so '@drillbook/harness' resolves to the compiled package as it does for users.
const root = mkdtempSync(join(repo, '.tmp-compiled-loading-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DRILL = (name: string) => `import { defineGameDay, fault, probe } from '@drillbook/harness';
export const ready = probe.http({ name: 'ready', target: 'api', path: '/readyz' });
export default defineGameDay({ name: '${name}', environments: ['local'], steadyState: [ready], phases: [{ name: 'k', fault: fault.podKill({ target: 'api' }) }] });
`;

function project(type: 'commonjs' | 'module'): string {
  const dir = join(root, type);
  mkdirSync(join(dir, 'drills'), { recursive: true });
  mkdirSync(join(dir, 'shared'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `team-${type}`, version: '1.0.0', type }));
  writeFileSync(join(dir, 'drills', 'plain.ts'), DRILL('plain'));
  writeFileSync(join(dir, 'shared', 'paths.ts'), `export const READY_PATH = '/readyz';\n`);
  writeFileSync(
    join(dir, 'drills', 'extensionless.ts'),
    DRILL('extensionless').replace("path: '/readyz'", 'path: READY_PATH') + `import { READY_PATH } from '../shared/paths';\n`,
  );
  writeFileSync(join(dir, 'drills', 'with-enum.ts'), DRILL('with-enum') + `export enum Tier { gold = 'gold' }\n`);
  return dir;
}

function drill(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CI: 'true' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.each(['commonjs', 'module'] as const)('the compiled drill in a "type": "%s" project', (type) => {
  const dir = project(type);

  it('loads a plain definition file without a word on stderr', () => {
    const r = drill(dir, 'validate', 'drills/plain.ts');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('ok  drills/plain.ts  (drill plain)');
    expect(r.err).toBe('');
  });

  it('still loads what only tsx can: an extensionless import and an enum', () => {
    const r = drill(dir, 'validate', 'drills/extensionless.ts', 'drills/with-enum.ts');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('(drill extensionless)');
    expect(r.out).toContain('(drill with-enum)');
  });

  it('names file:line:column of a syntax error', () => {
    writeFileSync(join(dir, 'drills', 'broken.ts'), `import { defineGameDay } from '@drillbook/harness';\nexport default defineGameDay({ name: 'x', \n`);
    const r = drill(dir, 'validate', 'drills/broken.ts');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/drills\/broken\.ts: 3:\d+: /);
  });
});
