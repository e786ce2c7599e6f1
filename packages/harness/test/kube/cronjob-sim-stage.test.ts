// `drill schedule --emit k8s` applied to the simulated API server and run once: every emitted
// object is created through the API, a Job is made from the CronJob (as `kubectl create job
// --from=cronjob/…` does), and the sim runs its pod as a local process — this repository's `drill`
// bin standing for the runner image, with the Secret and the claim materialized at their mount
// paths and the pod's service-account token checked against the emitted Role. The nightly drill
// must pass with that RBAC alone, its signed pack land on the claim and verify with the public
// key; a Role missing one verb must make the run fail with the sim's 403.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, type parse } from 'yaml';
import type { SimStage } from '@drillbook/stage';
import { verifyPack } from '../../src/evidence/verify.ts';
import { loadPublicKey } from '../../src/evidence/sign.ts';
import { drill } from '../support/drill-in-process.ts';
import { repoRoot, seedProject, startSimForProject } from '../support/seed-project.ts';
import { until } from '../support/until.ts';
import { freePort } from '../../../stage/src/ports.ts';

/** What YAML and JSON parsing give: shapes the assertions check. */
type Loose = ReturnType<typeof parse>;
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; [k: string]: Loose };
const NS = 'drills';
const PLURAL: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  CronJob: 'cronjobs',
  Job: 'jobs',
  Secret: 'secrets',
};

const project = seedProject('drillbook-cronjob-sim-');
let sim: SimStage;
let objects: Obj[];
const publicKeyFile = join(project.root, 'runner-signing.pub');

/** The API path of an object's collection (or of the object, with its name). */
function pathOf(o: { apiVersion: string; kind: string }, namespace: string, name?: string) {
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  return `${base}/namespaces/${namespace}/${PLURAL[o.kind]}${name ? `/${name}` : ''}`;
}

async function api(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Loose> {
  const r = await fetch(sim.url + path, {
    method,
    headers: { authorization: `Bearer ${sim.sim.token}`, 'content-type': contentType },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const out = (await r.json()) as Loose;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${out.message}`);
  return out;
}

/** As `kubectl create job <name> --from=cronjob/<cron>`: the CronJob's job template as a Job. Resolves with the finished Job. */
async function runFromCronJob(cronName: string, jobName: string): Promise<Obj> {
  const cron = await api('GET', pathOf({ apiVersion: 'batch/v1', kind: 'CronJob' }, NS, cronName));
  await api('POST', pathOf({ apiVersion: 'batch/v1', kind: 'Job' }, NS), {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName,
      namespace: NS,
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
      labels: cron.spec.jobTemplate.metadata?.labels ?? {},
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronName, uid: cron.metadata.uid, controller: true }],
    },
    spec: cron.spec.jobTemplate.spec,
  });
  return until(
    `job ${jobName} to finish`,
    async () => {
      const job = await api('GET', pathOf({ apiVersion: 'batch/v1', kind: 'Job' }, NS, jobName));
      return job.status?.succeeded || job.status?.failed ? job : undefined;
    },
    420_000,
  );
}

beforeAll(async () => {
  // The repository's config gives the sim environment the fixed webhook port 9793, which
  // nightly-sim-stage.test.ts (maybe running beside this file) binds too: this project gets its own
  // copy of the config on a free port, resolving @drillbook/harness through a linked node_modules.
  const configPath = join(project.root, 'drillbook.config.ts');
  const config = readFileSync(configPath, 'utf8');
  if (!config.includes('port: 9793')) throw new Error("drillbook.config.ts no longer gives sim's alertWebhook port 9793: update this test");
  rmSync(configPath);
  writeFileSync(configPath, config.replace('port: 9793', `port: ${await freePort()}`));
  symlinkSync(join(repoRoot, 'node_modules'), join(project.root, 'node_modules'));
  sim = await startSimForProject(project.root, {
    // The runner image's stand-in: this repository's drill bin in a directory holding the project.
    jobs: {
      entrypoint: [process.execPath, join(repoRoot, 'packages/harness/bin/drill.js')],
      imageDir: project.root,
      stateDir: join(project.root, '.sim-jobs'),
    },
  });
  const prev = process.cwd();
  process.chdir(project.root);
  try {
    const r = await drill('schedule', 'drills/nightly.ts', '--emit', 'k8s', '--env', 'sim', '--image', 'drillbook-runner:sim', '--namespace', NS);
    if (r.code !== 0) throw new Error(r.err);
    objects = parseAllDocuments(r.out).map((d) => d.toJS() as Obj);
  } finally {
    process.chdir(prev);
  }
  // What the team creates by hand (the YAML's header says so): the signing key and the alert webhook's token.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
  const secret = (name: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS },
    type: 'Opaque',
    data,
  });
  await api(
    'POST',
    `/api/v1/namespaces/${NS}/secrets`,
    secret('drillbook-signing-key', { 'signing.key': b64(privateKey.export({ type: 'pkcs8', format: 'pem' })) }),
  );
  await api('POST', `/api/v1/namespaces/${NS}/secrets`, secret('drillbook-alert-webhook', { 'alert-webhook.token': b64('sim-webhook-token-0123456789') }));
  for (const o of objects) await api('POST', pathOf(o, o.metadata.namespace), o);
}, 180_000);

afterAll(async () => {
  await sim?.stop();
  project.remove();
});

describe('the emitted CronJob, run once on the simulated API server', () => {
  it('every emitted object is accepted by the API', () => {
    for (const o of objects) expect(sim.sim.get(o.kind, o.metadata.namespace, o.metadata.name), `${o.kind} ${o.metadata.name}`).toBeDefined();
    expect(sim.sim.get('PersistentVolumeClaim', NS, 'drillbook-evidence')!.status).toMatchObject({ phase: 'Bound' });
  });

  it('a Job from the CronJob runs the nightly drill with the Role alone, and its signed pack on the claim verifies', async () => {
    const before = sim.sim.requests.length;
    const job = await runFromCronJob('drill-nightly', 'drill-nightly-manual-1');
    const log = sim.sim.jobs!.logOf(NS, 'drill-nightly-manual-1');
    expect(job.status, log).toMatchObject({ succeeded: 1 });
    expect(job.status.conditions[0]).toMatchObject({ type: 'Complete', status: 'True' });
    // The run went through the API with the pod's credentials: chaos objects created and the pod proxy used.
    const calls = sim.sim.requests.slice(before);
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/podchaos'))).toBe(true);
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/networkchaos'))).toBe(true);
    const claim = sim.sim.jobs!.claimDir(NS, 'drillbook-evidence');
    const pack = join(claim, 'release-nightly');
    expect(existsSync(pack)).toBe(true);
    expect(readdirSync(join(pack, 'junit')).length).toBe(1);
    expect(verifyPack(pack, { publicKey: loadPublicKey(publicKeyFile) }).problems).toEqual([]);
    const v = await drill('verify', pack, '--key', publicKeyFile);
    expect(v.out).toContain(`OK ${pack}`);
    expect(v.code).toBe(0);
    console.log(
      `cronjob on the sim: ${log
        .split('\n')
        .filter((l) => /PASS|FAIL|TTD|TTR/.test(l))
        .slice(0, 6)
        .join(' | ')}`,
    );
  }, 480_000);

  it('with one verb taken out of the Role, the run fails on the sim’s 403 and the Job is failed', async () => {
    const role = sim.sim.get('Role', 'intelgraph', 'drillbook-runner')!;
    const rules = (role.rules as Array<{ resources: string[]; verbs: string[] }>).map((r) =>
      r.resources.includes('pods') ? { ...r, verbs: r.verbs.filter((v) => v !== 'list') } : r,
    );
    await api(
      'PATCH',
      pathOf({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' }, 'intelgraph', 'drillbook-runner'),
      { rules },
      'application/merge-patch+json',
    );
    const job = await runFromCronJob('drill-nightly', 'drill-nightly-manual-2');
    const log = sim.sim.jobs!.logOf(NS, 'drill-nightly-manual-2');
    expect(job.status, log).toMatchObject({ failed: 1 });
    expect(job.status.conditions[0]).toMatchObject({ type: 'Failed', status: 'True' });
    expect(log).toContain('User "system:serviceaccount:drills:drillbook-runner" cannot list resource "pods" in API group "" in the namespace "intelgraph"');
  }, 480_000);
});
