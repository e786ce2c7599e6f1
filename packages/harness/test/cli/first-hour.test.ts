// A new user's first hour (issue #15, item 8), in-process through main(): a broken definition
// names file:line:column, `drill run <name>` takes the name `drill list` shows, a bake is sent to
// `drill bake`, a drill with one environment runs there without --env, and a log gets few progress lines.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProgress, LOG_PROGRESS_EVERY_MS, type CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { DefinitionError } from '../../src/define/errors.ts';
import { compileErrorsOf, loadDefinitions } from '../../src/project/loader.ts';
import { defaultEnvironment } from '../../src/session/run/prepare.ts';

const repo = resolve(__dirname, '../../../..');
// Inside the repo so '@drillbook/harness' resolves as it does for users.
const project = mkdtempSync(join(repo, '.tmp-first-hour-'));
const startDir = process.cwd();
// A team's service on this host, for the `hosts` environment: answers /readyz.
let service: Server;
afterAll(async () => {
  await new Promise((done) => service.close(done));
  rmSync(project, { recursive: true, force: true });
});
afterEach(() => process.chdir(startDir));

async function drill(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTty: false };
  process.chdir(project);
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  service = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((done) => service.listen(0, '127.0.0.1', done));
  const port = (service.address() as AddressInfo).port;
  mkdirSync(join(project, 'drills'));
  writeFileSync(
    join(project, 'drillbook.config.ts'),
    `import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  environments: {
    local: { kind: 'local' },
    box: { kind: 'hosts', targets: { api: { url: 'http://127.0.0.1:${port}' } } },
    cluster: {
      kind: 'kubernetes',
      context: 'team',
      namespaces: ['shop'],
      targets: { api: { selector: { app: 'shop-api' }, namespace: 'shop', url: 'http://shop-api.shop:8080' } },
    },
  },
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'cluster-only.ts'),
    `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'cluster-only',
  title: 'Lose a pod on the cluster',
  environments: ['cluster'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz' })],
  phases: [{ name: 'kill', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { recoverWithin: '30s' } }],
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'calm.ts'),
    `import { defineGameDay, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'calm',
  environments: ['box'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '200ms' })],
  phases: [{ name: 'quiet', duration: '1s' }],
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'soak.ts'),
    `import { defineBake } from '@drillbook/harness';
import p50 from '../../load/steady-p50.ts';
export default defineBake({ name: 'soak', title: 'A short soak', environments: ['local'], duration: '2h', checkpoint: '1h', load: [p50] });
`,
  );
});

describe('a definition that does not compile', () => {
  it("shows the compiler's message at file:line:column, and no `npm run typecheck` hint", async () => {
    const file = join(project, 'drills', 'broken.ts');
    writeFileSync(file, `export default {\n  name: 'x',,\n};\n`);
    try {
      const err = await loadDefinitions(file, project).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DefinitionError);
      const message = (err as DefinitionError).message;
      expect(message).toMatch(/^drills\/broken\.ts: 2:13: Expected identifier but found ","/);
      expect(message).toContain('fix: correct the code at drills/broken.ts:2:13');
      expect(message).not.toMatch(/Transform failed|typecheck|error above/);
      // This project has no tsconfig.json, so tsc is not suggested.
      expect(message).not.toContain('tsc');
      writeFileSync(join(project, 'tsconfig.json'), '{}\n');
      const withTsconfig = await loadDefinitions(file, project).catch((e: unknown) => e);
      expect((withTsconfig as DefinitionError).message).toContain('`npx tsc --noEmit` lists type errors too');
    } finally {
      rmSync(file, { force: true });
      rmSync(join(project, 'tsconfig.json'), { force: true });
    }
  });

  it('an error thrown while the file runs is shown with the file, not as a compile error', async () => {
    const file = join(project, 'drills', 'throws.ts');
    writeFileSync(file, `const ok = 1;\nthrow new Error('boom ' + ok);\n`);
    try {
      const message = ((await loadDefinitions(file, project).catch((e: unknown) => e)) as DefinitionError).message;
      expect(message).toContain('drills/throws.ts: (file): could not be loaded: boom 1');
      expect(message).toContain('fix: it threw while loading: fix drills/throws.ts or a file it imports');
      expect(message).not.toMatch(/typecheck|error above/);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('reads every error esbuild reports for the file, and none for other files', () => {
    const abs = '/p/drills/a.ts';
    const message = ['Transform failed with 2 errors:', `${abs}:3:7: ERROR: Unexpected "}"`, '/p/other.ts:1:1: ERROR: elsewhere', `${abs}:9:1: ERROR: x`].join(
      '\n',
    );
    expect(compileErrorsOf(message, abs)).toEqual([
      { line: 3, column: 8, text: 'Unexpected "}"' },
      { line: 9, column: 2, text: 'x' },
    ]);
    expect(compileErrorsOf('Cannot find module', abs)).toEqual([]);
  });
});

describe('a project whose package.json says "type": "commonjs" (what `npm init -y` writes)', () => {
  it('loads its definition files, default export and named exports alike', async () => {
    const cjs = join(project, 'cjs');
    mkdirSync(join(cjs, 'drills'), { recursive: true });
    writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'team-service', version: '1.0.0', type: 'commonjs' }));
    writeFileSync(
      join(cjs, 'drills', 'kill.ts'),
      `import { defineGameDay, fault, probe } from '@drillbook/harness';
export const ready = probe.http({ name: 'ready', target: 'api', path: '/readyz' });
export default defineGameDay({ name: 'kill', environments: ['local'], steadyState: [ready], phases: [{ name: 'k', fault: fault.podKill({ target: 'api' }) }] });
`,
    );
    const loaded = await loadDefinitions(join(cjs, 'drills', 'kill.ts'), cjs);
    expect(loaded.definitions.map((d) => [d.exportName, d.value.kind, d.value.name])).toEqual([['default', 'drill', 'kill']]);
  });
});

describe('drill list and drill run by name', () => {
  it('list marks a bake as a bake and a drill as a drill', async () => {
    const r = await drill('list');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/cluster-only\s+drills\/cluster-only\.ts\s+cluster\s+drill\s+Lose a pod/);
    expect(r.out).toMatch(/soak\s+drills\/soak\.ts\s+local\s+bake\s+A short soak/);
    expect(r.out).toContain("a bake with 'drill bake <file>'");
    const json = JSON.parse((await drill('list', '--json')).out) as { drills: Array<{ name: string; kind: string }> };
    expect(json.drills.map((d) => [d.name, d.kind]).sort()).toEqual([
      ['calm', 'drill'],
      ['cluster-only', 'drill'],
      ['soak', 'bake'],
    ]);
  });

  it("run takes the name list shows and, without --env, uses the drill's only environment", async () => {
    const r = await drill('run', 'cluster-only', '--dry-run');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('environment: cluster (kubernetes)');
    expect(r.out).toContain('fault: pod-kill on api (one) via chaos-mesh');
    expect(r.out).toContain('(dry run: nothing was started, injected or written)');
  });

  it('the environment default is the only one a drill allows, else local; --env still wins', async () => {
    expect(defaultEnvironment({ environments: ['cluster'] })).toBe('cluster');
    expect(defaultEnvironment({ environments: ['local', 'stage'] })).toBe('local');
    const r = await drill('run', 'cluster-only', '--env', 'local', '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toContain("drill 'cluster-only' is not allowed in environment 'local' (it allows cluster)");
  });

  it("a run without --env and --release files its evidence under the drill's only environment", async () => {
    const r = await drill('run', 'calm', '--json');
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out) as { verdict: string; files: { record: string } };
    expect(result.verdict).toBe('pass');
    expect(result.files.record).toMatch(/evidence-pack\/release-box\/chaos-dr\/run-\d{8}-\d{6}\.json$/);
  });

  it('run on a bake, by name or by file, exits 2 and says to use drill bake', async () => {
    for (const arg of ['soak', 'drills/soak.ts']) {
      const r = await drill('run', arg, '--dry-run');
      expect(r.code, arg).toBe(2);
      expect(r.err).toContain("'soak' is a bake, not a drill");
      expect(r.err).toContain("fix: run it with 'drill bake drills/soak.ts'");
    }
  });

  it('an unknown name exits 2 and lists the drills it could be', async () => {
    const r = await drill('run', 'clusterr-only', '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toContain('clusterr-only: (file): no such file, and no drill of that name under drills/');
    expect(r.err).toContain('fix: give a drill file, or one of: calm, cluster-only');
  });
});

describe('progress in a log', () => {
  it(`prints a changed line at most every ${LOG_PROGRESS_EVERY_MS / 1000} s; notes always`, () => {
    const lines: string[] = [];
    let t = 0;
    const progress = createProgress({ out: () => undefined, err: (l) => void lines.push(l), isTty: false }, () => t);
    // A 90 s drill updating its status every second.
    for (t = 0; t <= 90_000; t += 1_000) progress.update(`t=${t / 1000}s`);
    progress.note('phase kill: fault injected');
    progress.done();
    expect(lines).toEqual(['t=0s', 't=10s', 't=20s', 't=30s', 't=40s', 't=50s', 't=60s', 't=70s', 't=80s', 't=90s', 'phase kill: fault injected']);
  });
});
