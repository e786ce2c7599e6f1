// Every command's `--json` document against the JSON Schema `drill schema <command>` prints
// (issue #15 item 4), from real runs in-process through main(): a drill on a `hosts` environment
// whose service is a loopback server the drill's own fault breaks and heals, its pack verified,
// reviewed and indexed, a load profile and a journey against the same server, a bake rehearsed
// on the virtual clock, and the dry run's plan and Chaos Mesh objects for a kubernetes environment.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import type { RunOutput, RunResultOut } from '../../src/cli/output/run.ts';

const repo = resolve(__dirname, '../../../..');
// Inside the repo so '@drillbook/harness' resolves as it does for users.
const project = mkdtempSync(join(repo, '.tmp-json-output-'));
const startDir = process.cwd();
const savedKubeconfig = process.env.KUBECONFIG;
let service: Server;
let url = '';
let broken = false;

async function drill(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTty: false };
  process.chdir(project);
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const validators = new Map<string, ValidateFunction>();
/** The command's schema as `drill schema` prints it, compiled by ajv in strict mode. */
async function validatorFor(command: string): Promise<ValidateFunction> {
  const cached = validators.get(command);
  if (cached) return cached;
  const r = await drill('schema', command);
  expect(r.code).toBe(0);
  const v = new Ajv2020({ strict: true, allErrors: true }).compile(JSON.parse(r.out) as object);
  validators.set(command, v);
  return v;
}

/** Parses stdout as one JSON document and validates it against the command's schema. */
async function validDocument(command: string, stdout: string): Promise<Record<string, unknown>> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  const validate = await validatorFor(command);
  expect(validate(doc), JSON.stringify(validate.errors, null, 2)).toBe(true);
  expect(doc.schema).toBe(`drillbook.cli.${command}/v1`);
  return doc;
}

const filesUnder = (dir: string, prefix = ''): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name), `${prefix}${name}/`) : [`${prefix}${name}`]));

beforeAll(async () => {
  // The team's service: answers 200, or 503 while the drill's fault has it broken.
  service = createServer((req, res) => {
    if (req.url === '/break') broken = true;
    if (req.url === '/heal') broken = false;
    res.statusCode = broken && req.url !== '/heal' && req.url !== '/break' ? 503 : 200;
    res.end('ok');
  });
  await new Promise<void>((done) => service.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
  for (const dir of ['drills', 'load', 'synthetics', 'alerts', 'runbooks']) mkdirSync(join(project, dir));
  writeFileSync(join(project, 'runbooks', 'shop-availability.md'), '# Shop availability\n\nWhat to do when the shop answers 5xx.\n');
  // A kubeconfig that is not there: the dry run must not reach for a real cluster.
  process.env.KUBECONFIG = join(project, 'no-kubeconfig');
  writeFileSync(
    join(project, 'drillbook.config.ts'),
    `import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  evidenceDir: 'evidence-pack',
  environments: {
    box: { kind: 'hosts', targets: { api: { url: '${url}' } } },
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
    join(project, 'alerts', 'shop.slo.ts'),
    `import { defineSlo } from '@drillbook/harness';
export const availability = defineSlo({
  service: 'shop-api',
  name: 'availability',
  objective: 99.9,
  period: '30d',
  sli: { errors: 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))', total: 'sum(rate(http_requests_total[{{window}}]))' },
  alerting: { name: 'ShopAvailability', runbook: 'runbooks/shop-availability.md' },
});
`,
  );
  writeFileSync(
    join(project, 'load', 'trickle.ts'),
    `import { defineLoadProfile } from '@drillbook/harness';
export const steady = { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '3s', preAllocatedVUs: 2, maxVUs: 5 } as const;
export const trickle = {
  target: 'api',
  request: { method: 'GET', path: '/', expect: { status: 200 } },
  thresholds: { http_req_duration: ['p(95)<1000'] },
} as const;
export default defineLoadProfile({ name: 'trickle', ...trickle, scenarios: { steady } });
`,
  );
  writeFileSync(
    join(project, 'synthetics', 'home.ts'),
    `import { defineJourney } from '@drillbook/harness';
export default defineJourney({ name: 'home', target: 'api', steps: [{ name: 'home', request: { method: 'GET', path: '/' }, expect: { status: 200 } }] });
`,
  );
  writeFileSync(
    join(project, 'drills', 'outage.ts'),
    `import { defineGameDay, fault, probe } from '@drillbook/harness';
import { availability } from '../alerts/shop.slo.ts';
import { defineLoadProfile } from '@drillbook/harness';
import { steady, trickle } from '../load/trickle.ts';
// The same requests for longer than the run: the SLO's recovery is judged on the load's seconds after the fault.
const background = defineLoadProfile({ name: 'background', ...trickle, scenarios: { steady: { ...steady, duration: '60s' } } });
const call = (path: string) => async () => void (await fetch('${url}' + path));
export default defineGameDay({
  name: 'outage',
  environments: ['box'],
  load: background,
  steadyState: [probe.http({ name: 'up', target: 'api', path: '/', every: '200ms' })],
  phases: [
    { name: 'warm-up', duration: '1s' },
    { name: 'break', fault: fault.custom({ name: 'break-the-service', inject: call('/break'), revert: call('/heal'), duration: '1500ms' }), expect: { recoverWithin: '10s' } },
    // Long enough for N passing probes and N load seconds within the SLO after the fault is out.
    { name: 'cool-down', duration: '6s' },
  ],
  checks: { slo: [availability] },
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'cluster.ts'),
    `import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'cluster',
  environments: ['cluster'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz' })],
  phases: [
    { name: 'kill', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { recoverWithin: '30s' } },
    { name: 'slow', fault: fault.network({ target: 'api', delay: '100ms', duration: '15s' }), expect: { recoverWithin: '30s' } },
  ],
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'soak.ts'),
    `import { defineBake } from '@drillbook/harness';
import trickle from '../load/trickle.ts';
import { availability } from '../alerts/shop.slo.ts';
export default defineBake({ name: 'soak', title: 'A short soak', environments: ['box'], duration: '3h', checkpoint: '1h', load: [trickle], verdict: { sev1: 0, slos: [availability] } });
`,
  );
});

afterEach(() => process.chdir(startDir));
afterAll(async () => {
  process.chdir(startDir);
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await new Promise((done) => service.close(done));
  rmSync(project, { recursive: true, force: true });
});

describe('drill schema', () => {
  it('prints a JSON Schema (draft 2020-12) for every command with --json, which ajv compiles in strict mode', async () => {
    for (const command of ['run', 'bake', 'load', 'synth', 'verify', 'review', 'history']) {
      const r = await drill('schema', command);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      await validatorFor(command);
    }
    expect((await drill('schema', 'stage')).code).toBe(2);
  });

  it('docs/json-output.md names every top-level field of every document', async () => {
    const doc = readFileSync(join(repo, 'docs', 'json-output.md'), 'utf8');
    for (const command of ['run', 'bake', 'load', 'synth', 'verify', 'review', 'history']) {
      const schema = JSON.parse((await drill('schema', command)).out) as { properties?: object; oneOf?: Array<{ properties: object }> };
      const fields = new Set([...(schema.oneOf ?? [schema]).flatMap((s) => Object.keys(s.properties ?? {}))]);
      expect(fields.size, command).toBeGreaterThan(3);
      for (const f of fields) expect(doc.includes(`\`${f}\``) || doc.includes(`\`${f}[]\``), `${command}: ${f} is not in the docs`).toBe(true);
    }
  });

  it('a document that lacks a figure or adds an unknown field does not validate', async () => {
    const validate = await validatorFor('load');
    const doc = {
      schema: 'drillbook.cli.load/v1',
      command: 'load',
      exitCode: 0,
      profile: 'p',
      target: url,
      thresholdsOk: true,
      aborted: false,
      abortReason: null,
      durationMs: 1000,
      thresholds: [],
      metrics: {},
      checks: [],
      generator: { cpuSeconds: 0.1, wallSeconds: 1, cpuShare: 0.1, workers: 1, workerCpuSeconds: null },
    };
    expect(validate(doc)).toBe(true);
    expect(validate({ ...doc, durationMs: undefined })).toBe(false);
    expect(validate({ ...doc, summary: 'text' })).toBe(false);
  });
});

describe('a real run on a hosts environment, and its pack', () => {
  let result: RunResultOut;

  it('drill run --json: every figure as data — per episode t_inject, TTD, TTR, impact, recoverWithin and whether met; MTTR, burn, checks, files', async () => {
    const r = await drill('run', 'drills/outage.ts', '--release', 'json', '--json');
    const doc = (await validDocument('run', r.out)) as RunOutput;
    expect(doc.kind, r.err).toBe('result');
    result = doc as RunResultOut;
    expect(result.exitCode).toBe(r.code);
    expect(result.verdict, JSON.stringify(result.checks, null, 1)).toBe('pass');
    expect([result.drill, result.environment, result.release]).toEqual(['outage', 'box', 'json']);
    const [e] = result.episodes;
    expect(result.episodes).toHaveLength(1);
    expect(e!.phase).toBe('break');
    expect(e!.fault.kind).toBe('custom');
    // The fault broke the service for 1.5 s: impact, then recovery once it was healed.
    expect(e!.noImpact).toBe(false);
    expect(e!.tImpact).not.toBeNull();
    expect(e!.tRecover! - e!.tInject).toBe(e!.ttr.value);
    expect(e!.ttr.value).toBeGreaterThanOrEqual(1500);
    expect(e!.ttd.value).toBeNull(); // no alert was expected
    expect(e!.recoverWithin).toEqual({ ms: 10_000, met: true });
    console.log(
      `outage on hosts: TTR ${e!.ttr.value} ms, impact ${e!.impact.value} ms, ${e!.recoveredBy}, budget consumed ${result.burns[0]?.budgetConsumed.value}, ${result.files.written.length} files written`,
    );
    // `met` is the verdict's own check.
    const check = result.checks.find((c) => c.name === 'break: recovered within 10000 ms');
    expect(check?.ok).toBe(e!.recoverWithin!.met);
    expect(result.mttr?.value).toBe(e!.ttr.value);
    expect(result.measures['break.ttr']?.value).toBe(e!.ttr.value);
    // Burn against the declared SLO, counted from the drill's own load.
    expect(result.burns.map((b) => [b.slo, b.source])).toEqual([['shop-api:availability', 'load']]);
    expect(result.burns[0]!.budgetConsumed.value).toBeGreaterThan(0);
    expect(result.loadThresholds.map((t) => [t.metric, t.threshold, t.ok])).toEqual([['http_req_duration', 'p(95)<1000', true]]);
    expect(result.restore).toBeNull();
    // Files: the record and the rest this run wrote, all there; in a fresh pack that is every file but the signing history.
    for (const f of result.files.written) expect(existsSync(join(result.files.pack, f)), f).toBe(true);
    expect(result.files.written).toContain(`chaos-dr/${result.files.record.split('/').pop()}`);
    expect(filesUnder(result.files.pack).filter((f) => !result.files.written.includes(f))).toEqual([]);
  }, 90_000);

  it('drill verify --json on that pack, and on a copy with a figure edited', async () => {
    const keys = join(project, '.drillbook', 'keys');
    const pub = readdirSync(keys).find((f) => f.endsWith('.pub'));
    const keyFlag = pub ? ['--key', join(keys, pub)] : ['--allow-unsigned'];
    const ok = await drill('verify', result.files.pack, ...keyFlag, '--json');
    const doc = await validDocument('verify', ok.out);
    expect([ok.code, doc.ok, doc.problems]).toEqual([0, true, []]);

    const copy = join(project, 'evidence-pack', 'release-edited');
    cpSync(result.files.pack, copy, { recursive: true });
    const recordPath = join(copy, 'chaos-dr', result.files.record.split('/').pop()!);
    const record = JSON.parse(readFileSync(recordPath, 'utf8'));
    record.measures['break.ttr'].value = 1;
    writeFileSync(recordPath, JSON.stringify(record));
    const bad = await drill('verify', copy, ...keyFlag, '--json');
    const badDoc = await validDocument('verify', bad.out);
    expect(bad.code).toBe(1);
    expect(badDoc.ok).toBe(false);
    expect((badDoc.problems as Array<{ kind: string }>).map((p) => p.kind)).toContain('digest-mismatch');
    rmSync(copy, { recursive: true, force: true });
  }, 60_000);

  it('drill review --json and drill history --json over the packs', async () => {
    const review = await drill('review', '--release', 'json', '--now', new Date(result.endedAt + 60_000).toISOString(), '--json');
    const r = await validDocument('review', review.out);
    expect(review.code).toBe(r.decision === 'GO' ? 0 : 1);
    expect(r.runs).toBe(1);
    expect((r.gates as unknown[]).length).toBeGreaterThan(0);
    expect(existsSync((r.files as { memo: string }).memo)).toBe(true);

    const history = await drill('history', '--json');
    const h = await validDocument('history', history.out);
    expect(history.code).toBe(0);
    expect(h.runs).toBe(1);
    const [trend] = h.drills as Array<{ drill: string; points: Array<{ runId: string; mttrAllMs: number | null }> }>;
    expect(trend!.drill).toBe('outage');
    expect(trend!.points[0]).toMatchObject({ runId: result.runId, mttrAllMs: result.mttr!.value });
    for (const f of h.files as string[]) expect(existsSync(f)).toBe(true);
  }, 60_000);
});

describe('load, synth and bake', () => {
  it('drill load --json: thresholds and metrics as data', async () => {
    const r = await drill('load', 'load/trickle.ts', '--target', url, '--json');
    const doc = await validDocument('load', r.out);
    expect(r.code).toBe(0);
    expect(doc.thresholds).toEqual([{ metric: 'http_req_duration', threshold: 'p(95)<1000', ok: true }]);
    const metrics = doc.metrics as Record<string, { values: Record<string, number> }>;
    expect(metrics.http_reqs!.values.count).toBeGreaterThan(0);
  }, 60_000);

  it('drill synth --json: each journey and step', async () => {
    const r = await drill('synth', 'synthetics/home.ts', '--target', url, '--json');
    const doc = await validDocument('synth', r.out);
    expect([r.code, doc.passed, doc.failed]).toEqual([0, 1, 0]);
    const [j] = doc.journeys as Array<{ journey: string; steps: Array<{ name: string; ok: boolean; requests: Array<{ status: number }> }> }>;
    expect(j!.journey).toBe('home');
    expect(j!.steps[0]).toMatchObject({ name: 'home', ok: true, requests: [{ status: 200 }] });
  }, 60_000);

  it('drill bake --clock virtual --json: the checkpoints and the verdict', async () => {
    const r = await drill('bake', 'drills/soak.ts', '--clock', 'virtual', '--env', 'box', '--release', 'bake', '--json');
    const doc = await validDocument('bake', r.out);
    expect([r.code, doc.verdict, doc.telemetry]).toEqual([0, 'pass', 'simulated']);
    expect((doc.checkpoints as unknown[]).length).toBe(3);
    expect(existsSync((doc.files as { record: string }).record)).toBe(true);
  }, 60_000);
});

describe('drill run --dry-run', () => {
  it('--json on a kubernetes environment: the plan, with each Chaos Mesh object and why it was not validated', async () => {
    const r = await drill('run', 'drills/cluster.ts', '--dry-run', '--json');
    const doc = (await validDocument('run', r.out)) as RunOutput;
    expect(r.code).toBe(0);
    if (doc.kind !== 'plan') throw new Error(r.out);
    expect(doc.environment).toEqual({ name: 'cluster', kind: 'kubernetes' });
    expect(doc.phases.map((p) => [p.name, p.fault?.provider, p.expect.recoverWithinMs])).toEqual([
      ['kill', 'chaos-mesh', 30_000],
      ['slow', 'chaos-mesh', 30_000],
    ]);
    expect(doc.kubernetesObjects.map((o) => [o.phase, o.object.kind, o.validation.ok])).toEqual([
      ['kill', 'PodChaos', null],
      ['slow', 'NetworkChaos', null],
    ]);
    expect(doc.preflight.ran).toBe(false);
  });

  it('-o yaml prints the objects alone as multi-document YAML; -o json the same as a v1 List', async () => {
    const yaml = await drill('run', 'drills/cluster.ts', '--dry-run', '-o', 'yaml');
    expect(yaml.code).toBe(0);
    const docs = parseAllDocuments(yaml.out).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { namespace: string } });
    expect(docs.map((d) => [d.apiVersion, d.kind, d.metadata.namespace])).toEqual([
      ['chaos-mesh.org/v1alpha1', 'PodChaos', 'shop'],
      ['chaos-mesh.org/v1alpha1', 'NetworkChaos', 'shop'],
    ]);
    const json = await drill('run', 'drills/cluster.ts', '--dry-run', '-o', 'json');
    expect(JSON.parse(json.out)).toEqual({ apiVersion: 'v1', kind: 'List', items: docs });
    // The plan's objects are the same objects.
    const plan = JSON.parse((await drill('run', 'drills/cluster.ts', '--dry-run', '--json')).out) as { kubernetesObjects: Array<{ object: unknown }> };
    expect(plan.kubernetesObjects.map((o) => o.object)).toEqual(docs);
  });

  it('-o on an environment that is not kubernetes, or without --dry-run, is a usage error (exit 2)', async () => {
    const hosts = await drill('run', 'drills/outage.ts', '--dry-run', '-o', 'yaml');
    expect([hosts.code, hosts.out]).toEqual([2, '']);
    expect(hosts.err).toMatch(/environment 'box' is kind 'hosts'/);
    const real = await drill('run', 'drills/cluster.ts', '-o', 'yaml');
    expect([real.code, real.out]).toEqual([2, '']);
    expect(real.err).toMatch(/add --dry-run/);
  });

  it('--json on hosts: the plan with the preflight that ran; a drill that names no file is an error document (exit 2)', async () => {
    const r = await drill('run', 'drills/outage.ts', '--dry-run', '--json');
    const doc = (await validDocument('run', r.out)) as RunOutput;
    if (doc.kind !== 'plan') throw new Error(r.out);
    expect(doc.preflight.ran).toBe(true);
    expect(doc.preflight.checked.join('\n')).toContain(url);
    expect(doc.phases.map((p) => [p.name, p.startsAtMs, p.durationMs])).toEqual([
      ['warm-up', 0, 1000],
      ['break', 1000, null],
      ['cool-down', 2500, 6000],
    ]);
    const missing = await drill('run', 'no-such-drill', '--json');
    const err = (await validDocument('run', missing.out)) as RunOutput;
    expect([missing.code, err.kind, err.exitCode]).toEqual([2, 'error', 2]);
  });
});
