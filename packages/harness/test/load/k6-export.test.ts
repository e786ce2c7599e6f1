// k6 export: the generated scripts type-check against @types/k6 (and a broken one does
// not), carry the profile's plan exactly, and the TestRun manifests validate against the
// k6-operator's published CRD schema (read from ../shared/reference, never copied).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { defineLoadProfile, parseDuration, type LoadProfile } from '../../src/define/index.ts';
import { loadProjectProfiles } from '../../src/load/profiles.ts';
import { openApiToJsonSchema } from '../../src/faults/chaos-mesh/schema.ts';
import { k6Duration, k6Options, k6Script } from '../../src/load/k6-export.ts';
import { buildK6Artifacts, k6OperatorObjects, k6TestRunYaml, k8sName } from '../../src/load/k6-operator.ts';
import { K6_OPERATOR_CRD } from '../support/reference.ts';

const run = promisify(execFile);
const repo = resolve(__dirname, '../../../..');
const crdFile = K6_OPERATOR_CRD;
// Inside the repo so `k6/http` resolves to node_modules/@types/k6 as it would for a user.
mkdirSync(join(repo, '.tmp'), { recursive: true });
const tmp = mkdtempSync(join(repo, '.tmp', 'k6-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every executor, both threshold forms, a submetric and a threshold k6 cannot evaluate. */
const everything = defineLoadProfile({
  name: 'every-executor',
  request: {
    method: 'POST',
    path: '/ingest',
    headers: { 'x-team': 'sre' },
    json: { entities: [{ kind: 'person', name: 'Ada "the Countess" Lovelace' }] },
    expect: { status: [201, 202] },
    name: 'ingest',
  },
  scenarios: {
    open: { executor: 'constant-arrival-rate', rate: 30, timeUnit: '1s', duration: '1m30s', preAllocatedVUs: 5, maxVUs: 40 },
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 5,
      timeUnit: '500ms',
      preAllocatedVUs: 2,
      stages: [
        { duration: '10s', target: 50 },
        { duration: '1.5s', target: 0 },
      ],
      startTime: '1m30s',
    },
    closed: { executor: 'constant-vus', vus: 3, duration: '20s', gracefulStop: '5s' },
    rampvus: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '10s', target: 4 }] },
    pervu: { executor: 'per-vu-iterations', vus: 2, iterations: 10, maxDuration: '30s' },
    shared: { executor: 'shared-iterations', vus: 4, iterations: 100 },
  },
  thresholds: {
    http_req_duration: ['p(95)<500', { threshold: 'p(99)<1500', abortOnFail: true, delayAbortEval: '30s' }],
    'http_req_duration{scenario:open}': ['med<200'],
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }],
    http_req_duration_corrected: ['p(99)<2000'],
  },
});
const byUrl = defineLoadProfile({
  name: 'by-url',
  request: { url: 'http://127.0.0.1:9/healthz' },
  scenarios: { s: { executor: 'constant-vus', duration: '5s' } },
});

let repoProfiles: Array<{ profile: LoadProfile; source: string }> = [];
beforeAll(async () => {
  repoProfiles = await loadProjectProfiles(repo);
}, 60_000);

/** Type-checks JS files with checkJs against @types/k6; returns tsc's diagnostics. */
async function typeCheck(dir: string, files: string[]): Promise<{ ok: boolean; output: string }> {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        allowJs: true,
        checkJs: true,
        noEmit: true,
        strict: true,
        target: 'es2020',
        module: 'esnext',
        moduleResolution: 'bundler',
        lib: ['es2020'],
        types: ['k6'],
        skipLibCheck: true,
      },
      files,
    }),
  );
  try {
    const r = await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir });
    return { ok: true, output: r.stdout };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: string }).stdout ?? err) };
  }
}

describe('k6 durations', () => {
  it('writes milliseconds exactly in Go duration syntax', () => {
    expect(k6Duration(0)).toBe('0s');
    expect(k6Duration(250)).toBe('250ms');
    expect(k6Duration(1_500)).toBe('1s500ms');
    expect(k6Duration(90_000)).toBe('1m30s');
    expect(k6Duration(3_600_000 + 61_000)).toBe('1h1m1s');
    for (const ms of [1, 999, 1_000, 59_999, 86_400_000, 123_456_789]) expect(parseDuration(k6Duration(ms))).toBe(ms);
  });
});

describe('k6 script', () => {
  it('carries every scenario and threshold of the plan exactly, and leaves out what k6 has no metric for', () => {
    const { options, omitted } = k6Options(everything);
    expect(omitted).toEqual(['http_req_duration_corrected']);
    expect(Object.keys(options.scenarios)).toEqual(['closed', 'open', 'pervu', 'ramp', 'rampvus', 'shared']);
    // Round trip: every duration written parses back to the plan's milliseconds.
    for (const [name, s] of Object.entries(options.scenarios)) {
      const plan = everything.scenarios[name]!;
      expect(s.executor).toBe(plan.executor);
      for (const k of ['duration', 'timeUnit', 'maxDuration', 'startTime', 'gracefulStop'] as const)
        if (k in s) expect(parseDuration(s[k] as string), `${name}.${k}`).toBe(plan[k]);
      for (const k of ['rate', 'startRate', 'preAllocatedVUs', 'maxVUs', 'vus', 'startVUs', 'iterations'] as const)
        if (k in s) expect(s[k], `${name}.${k}`).toBe(plan[k]);
      if (plan.stages)
        expect((s.stages as Array<{ duration: string; target: number }>).map((st) => ({ duration: parseDuration(st.duration), target: st.target }))).toEqual(
          plan.stages,
        );
    }
    expect(options.scenarios.ramp).toMatchObject({
      timeUnit: '500ms',
      startTime: '1m30s',
      stages: [
        { duration: '10s', target: 50 },
        { duration: '1s500ms', target: 0 },
      ],
    });
    // k6's defaults, made explicit: gracefulStop 30s, timeUnit 1s, maxVUs = preAllocatedVUs, 10m maxDuration.
    expect(options.scenarios.shared).toMatchObject({ gracefulStop: '30s', maxDuration: '10m' });
    expect(options.scenarios.ramp).toMatchObject({ maxVUs: 2 });
    expect(options.thresholds).toEqual({
      http_req_duration: ['p(95)<500', { threshold: 'p(99)<1500', abortOnFail: true, delayAbortEval: '30s' }],
      'http_req_duration{scenario:open}': ['med<200'],
      http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }],
    });
    const script = k6Script(everything);
    expect(script).toContain("// Threshold on 'http_req_duration_corrected' left out");
    expect(script).toContain('http.setResponseCallback(http.expectedStatuses(201, 202));');
    expect(script).toContain('"status is 201|202": (r) => EXPECTED.includes(r.status)');
    expect(script).toContain(`const BODY = ${JSON.stringify(everything.request.body)};`);
  });

  it('is deterministic: the same profile gives the same bytes, whatever order its scenarios were written in', () => {
    const a = defineLoadProfile({
      name: 'o',
      request: { path: '/x' },
      scenarios: { b: { executor: 'constant-vus', duration: '1s' }, a: { executor: 'shared-iterations' } },
      thresholds: { z: ['value>0'], checks: ['rate>0.9'] },
    });
    const b = defineLoadProfile({
      name: 'o',
      request: { path: '/x' },
      scenarios: { a: { executor: 'shared-iterations' }, b: { executor: 'constant-vus', duration: '1s' } },
      thresholds: { checks: ['rate>0.9'], z: ['value>0'] },
    });
    expect(k6Script(a)).toBe(k6Script(b));
    expect(k6TestRunYaml(a)).toBe(k6TestRunYaml(b));
  });

  it('type-checks against @types/k6: the repo profiles, every executor and a full-URL request; a wrong option does not', async () => {
    expect(repoProfiles.map((p) => p.profile.name).sort()).toEqual(['outage-background', 'spike', 'steady-p50', 'steady-p95']);
    const dir = mkdtempSync(join(tmp, 'tsc-'));
    const files: string[] = [];
    for (const p of [...repoProfiles.map((r) => r.profile), everything, byUrl]) {
      writeFileSync(join(dir, `${p.name}.js`), k6Script(p));
      files.push(`${p.name}.js`);
    }
    const good = await typeCheck(dir, files);
    expect(good.output).toBe('');
    expect(good.ok).toBe(true);

    // The check bites: a misspelt executor and a numeric duration are type errors.
    const bad = mkdtempSync(join(tmp, 'tsc-bad-'));
    writeFileSync(
      join(bad, 'bad.js'),
      k6Script(everything).replace('"executor": "constant-vus"', '"executor": "constant-vu"').replace('"duration": "20s"', '"duration": 20'),
    );
    const r = await typeCheck(bad, ['bad.js']);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/bad\.js\(\d+,\d+\): error TS/);
  }, 120_000);
});

/** Structural CRD schemas prune unknown fields silently; for a test, unknown means wrong. */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, closeObjects(pv)])) : closeObjects(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

// A conformance check against reference data that only this workspace has: skipped, and said so, on a clone on its own.
const haveCrd = existsSync(crdFile);
if (!haveCrd) console.warn(`SKIPPED: k6-operator TestRun conformance — no published CRD at ${crdFile}`);

describe.skipIf(!haveCrd)('k6-operator TestRun', () => {
  let validate: ValidateFunction;
  beforeAll(() => {
    const crd = parseYaml(readFileSync(crdFile, 'utf8')) as { spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: object } }> } };
    const v1 = crd.spec.versions.find((v) => v.name === 'v1alpha1')!;
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    validate = ajv.compile(closeObjects(openApiToJsonSchema(v1.schema.openAPIV3Schema)) as object);
  });

  const errors = (obj: object) => (validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

  it('validates against the CRD for every repo profile, with and without options', () => {
    for (const { profile, source } of repoProfiles) {
      expect(errors(k6OperatorObjects(profile).testRun), profile.name).toEqual([]);
      expect(
        errors(
          k6OperatorObjects(profile, { namespace: 'load', parallelism: 4, baseUrl: 'http://graph-api.prod.svc:8080', image: 'grafana/k6:1.3.0', source })
            .testRun,
        ),
        profile.name,
      ).toEqual([]);
    }
    expect(errors(k6OperatorObjects(everything, { parallelism: 2 }).testRun)).toEqual([]);
  });

  it('the schema check bites: a misspelt field, a string parallelism and an unknown cleanup are rejected', () => {
    const good = k6OperatorObjects(everything).testRun;
    expect(errors({ ...good, spec: { ...good.spec, paralelism: 1 } }).join()).toMatch(/additional properties/);
    expect(errors({ ...good, spec: { ...good.spec, parallelism: '2' } }).join()).toMatch(/\/spec\/parallelism must be integer/);
    expect(errors({ ...good, spec: { ...good.spec, cleanup: 'always' } }).join()).toMatch(/\/spec\/cleanup must be equal to one of the allowed values/);
  });

  it('the YAML holds a ConfigMap with the script and a TestRun pointing at it', () => {
    const text = k6TestRunYaml(repoProfiles[0]!.profile, { baseUrl: 'http://svc:8080' });
    expect(text).not.toMatch(/[&*]a\d/); // no YAML anchors: plain objects for kubectl and reviewers
    const docs = parseAllDocuments(text).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string };
          data?: Record<string, string>;
          spec?: { script: { configMap: { name: string; file: string } }; runner: { env: Array<{ name: string; value: string }> } };
        },
    );
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'TestRun']);
    const [cm, tr] = docs as [(typeof docs)[0], (typeof docs)[0]];
    expect(tr.spec!.script.configMap.name).toBe(cm.metadata.name);
    expect(cm.data![tr.spec!.script.configMap.file]).toBe(k6Script(repoProfiles[0]!.profile));
    expect(tr.spec!.runner.env).toEqual([{ name: 'BASE_URL', value: 'http://svc:8080' }]);
    expect(errors(tr)).toEqual([]);
  });

  it('names are valid Kubernetes names', () => {
    expect(k8sName('steady-p50')).toBe('drillbook-steady-p50');
    expect(k8sName('Read_Path.v2')).toBe('drillbook-read-path-v2');
    const long = k8sName('x'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('buildK6Artifacts', () => {
  it('writes a script and a TestRun per profile, the same bytes twice, and drops files of removed profiles', async () => {
    const out = mkdtempSync(join(tmp, 'out-'));
    const files = await buildK6Artifacts(repoProfiles, out);
    expect(repoProfiles.map((p) => p.source)).toEqual(['load/outage-background.ts', 'load/spike.ts', 'load/steady-p50.ts', 'load/steady-p95.ts']);
    expect(files).toEqual([
      'k6/outage-background.js',
      'k6/outage-background.testrun.yaml',
      'k6/spike.js',
      'k6/spike.testrun.yaml',
      'k6/steady-p50.js',
      'k6/steady-p50.testrun.yaml',
      'k6/steady-p95.js',
      'k6/steady-p95.testrun.yaml',
    ]);
    const first = Object.fromEntries(files.map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    expect(first['k6/steady-p50.js']).toContain("from load profile 'steady-p50' (load/steady-p50.ts)");
    await buildK6Artifacts(repoProfiles, out);
    for (const f of files) expect(readFileSync(join(out, f), 'utf8'), f).toBe(first[f]);
    await buildK6Artifacts(
      repoProfiles.filter((p) => p.profile.name !== 'spike'),
      out,
    );
    expect(readdirSync(join(out, 'k6')).sort()).toEqual([
      'outage-background.js',
      'outage-background.testrun.yaml',
      'steady-p50.js',
      'steady-p50.testrun.yaml',
      'steady-p95.js',
      'steady-p95.testrun.yaml',
    ]);
    await expect(buildK6Artifacts([repoProfiles[0]!, repoProfiles[0]!], out)).rejects.toThrow(/two load profiles are named 'outage-background'/);
  });
});
