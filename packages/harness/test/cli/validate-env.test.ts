// `drill validate --env <name>`: each drill that allows the environment, checked as `drill run`
// would before starting anything — here, a network fault on a hosts target without the fault
// proxy it needs, which plain `validate` (definitions only) does not look for.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { drill } from '../support/drill-in-process.ts';

const repo = resolve(__dirname, '../../../..');
// Inside the repo so '@drillbook/harness' resolves as it does for users.
const project = mkdtempSync(join(repo, '.tmp-validate-env-'));
const startDir = process.cwd();
afterEach(() => process.chdir(startDir));
afterAll(() => rmSync(project, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(join(project, 'drills'));
  writeFileSync(
    join(project, 'drillbook.config.ts'),
    `import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  environments: {
    box: { kind: 'hosts', targets: { api: { url: 'http://127.0.0.1:1' } } },
    proxied: { kind: 'hosts', targets: { api: { proxy: { listen: '127.0.0.1:2', upstream: '127.0.0.1:1' } } } },
  },
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'slow.ts'),
    `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'slow',
  environments: ['box', 'proxied'],
  steadyState: [probe.http({ name: 'up', target: 'api', path: '/' })],
  phases: [{ name: 'slow', fault: fault.network({ target: 'api', delay: '200ms', duration: '2s' }) }],
});
`,
  );
});

describe('drill validate --env', () => {
  it('without --env: the definitions are valid', async () => {
    process.chdir(project);
    const r = await drill('validate');
    expect(r.code, r.err).toBe(0);
  });

  it('with --env: refuses what a run there would, naming the field and the fix', async () => {
    process.chdir(project);
    const r = await drill('validate', '--env', 'box');
    expect(r.code).toBe(2);
    expect(r.err).toContain('drills/slow.ts');
    expect(r.err).toContain('environments.box.targets.api.proxy');
    const json = JSON.parse((await drill('validate', '--env', 'box', '--json')).out) as { ok: boolean; errors: Array<{ file: string }> };
    expect(json.ok).toBe(false);
    expect(json.errors.map((e) => e.file)).toEqual(['drills/slow.ts']);
  });

  it('with --env on an environment that has the proxy: valid', async () => {
    process.chdir(project);
    const r = await drill('validate', '--env', 'proxied');
    expect(r.code, r.err).toBe(0);
  });

  it('an unknown environment is a usage error naming the ones there are', async () => {
    process.chdir(project);
    const r = await drill('validate', '--env', 'nowhere');
    expect(r.code).toBe(2);
    expect(r.err).toContain('box, proxied');
  });
});
