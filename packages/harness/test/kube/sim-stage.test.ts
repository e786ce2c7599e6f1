// The simulated API server in stage mode, through @kubernetes/client-node as the harness uses
// it: its Pods, Deployment and Services are the local stage's real processes, and Chaos Mesh
// objects created through the API act on them (a real replica killed or paused, the real
// database proxy slowed, stress-ng run), and the proxy subresources reach the real Prometheus
// and the simulation's Tempo.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Watch, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim, startSimStage, type ReplicaInfo, type SimStage } from '@drillbook/stage';
import { tempoTraceToSpans } from '../../src/observe/trace-backends.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-sim-stage-'));
let sim: SimStage;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let token = '';
const NS = 'intelgraph';
const chaosRef = (plural: string) => ({ group: 'chaos-mesh.org', version: 'v1alpha1', namespace: NS, plural });

beforeAll(async () => {
  sim = await startSimStage({ kubeconfigPath: join(dir, 'kubeconfig'), stateDir: join(dir, 'stage'), replicas: 2, restartDelay: 1_000, injectDelayMs: 50 });
  kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  token = kc.getCurrentUser()!.token!;
}, 180_000);

afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

const replicas = async (): Promise<ReplicaInfo[]> =>
  (await fetch(`${sim.stage.urls.control}/replicas`, { headers: { authorization: `Bearer ${sim.stage.controlToken}` } })).json() as Promise<ReplicaInfo[]>;
const proxyState = async (name: string) =>
  (await fetch(`${sim.stage.urls.control}/proxies/${name}`, { headers: { authorization: `Bearer ${sim.stage.controlToken}` } })).json() as Promise<{
    delayMs?: number;
    blackhole?: boolean;
  }>;
const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const apiPods = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=graph-api' })).items;
const replicaOf = (p: V1Pod) => p.metadata!.annotations!['drillbook.dev/stage-replica']!;
const conditionOf = (o: { status?: { conditions?: Array<{ type: string; status: string }> } }, type: string) =>
  o.status?.conditions?.find((c) => c.type === type)?.status;
const getChaos = (plural: string, name: string) =>
  custom.getNamespacedCustomObject({ ...chaosRef(plural), name }) as Promise<{
    status?: {
      conditions?: Array<{ type: string; status: string }>;
      experiment?: { containerRecords?: Array<{ id: string; events: Array<{ type: string; message?: string }> }> };
    };
  }>;
/** Whether the chaos object still exists (a delete waits for recovery before it goes). */
const gone = async (plural: string, name: string) => {
  try {
    await custom.getNamespacedCustomObject({ ...chaosRef(plural), name });
    return false;
  } catch (err) {
    return (err as { code?: number }).code === 404;
  }
};
const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0];
};
const chaosObject = (kind: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'chaos-mesh.org/v1alpha1',
  kind,
  metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'drillbook' } },
  spec,
});

describe('Pods, Deployment and StatefulSet are the stage’s processes', () => {
  it('lists one pod per real replica, with its port, process and readiness, and the database pod', async () => {
    const real = await replicas();
    const pods = await apiPods();
    expect(pods).toHaveLength(real.length);
    for (const p of pods) {
      const r = real.find((x) => x.name === replicaOf(p))!;
      expect(p.metadata!.name).toMatch(/^graph-api-[a-z0-9]+-\d$/);
      expect(p.spec!.containers[0]!.ports![0]).toMatchObject({ containerPort: r.port, name: 'http' });
      expect(p.status!.containerStatuses![0]).toMatchObject({ name: 'graph-api', ready: r.ready, restartCount: r.restarts, containerID: `process://${r.pid}` });
      expect(isReady(p)).toBe(r.ready);
      expect(p.status!.podIP).toBe('127.0.0.1');
      expect(p.metadata!.ownerReferences![0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    }
    const dep = await apps.readNamespacedDeployment({ name: 'graph-api', namespace: NS });
    expect(dep.spec!.replicas).toBe(real.length);
    expect(dep.status!.readyReplicas ?? 0).toBe(real.filter((r) => r.ready).length);
    const db = await core.readNamespacedPod({ name: 'graph-db-0', namespace: NS });
    expect(db.metadata!.labels).toMatchObject({ app: 'graph-db' });
    expect(isReady(db)).toBe(true);
    expect((await apps.readNamespacedStatefulSet({ name: 'graph-db', namespace: NS })).status!.readyReplicas).toBe(1);
  });

  it('a PodChaos pod-kill created through the API kills a real replica; the Deployment dips and returns, and a watch sees both', async () => {
    const before = await replicas();
    const seen: Array<{ pod: string; ready: boolean }> = [];
    const readyReplicas: number[] = [];
    const w = new Watch(kc);
    const listed = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=graph-api' });
    const podWatch = await w.watch(
      `/api/v1/namespaces/${NS}/pods`,
      { labelSelector: 'app=graph-api', resourceVersion: listed.metadata!.resourceVersion },
      (type, pod: V1Pod) => type === 'MODIFIED' && seen.push({ pod: pod.metadata!.name!, ready: isReady(pod) }),
      () => {},
    );
    const depWatch = await w.watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      { fieldSelector: 'metadata.name=graph-api' },
      (_type, d: V1Deployment) => readyReplicas.push(d.status?.readyReplicas ?? 0),
      () => {},
    );
    try {
      await custom.createNamespacedCustomObject({
        ...chaosRef('podchaos'),
        body: chaosObject('PodChaos', 'kill-one', {
          action: 'pod-kill',
          mode: 'one',
          selector: { namespaces: [NS], labelSelectors: { app: 'graph-api' } },
          duration: '60s',
        }),
      });
      const injected = await eventually(async () => {
        const o = await getChaos('podchaos', 'kill-one');
        return conditionOf(o, 'AllInjected') === 'True' && o;
      });
      const victimPod = injected.status!.experiment!.containerRecords![0]!.id.split('/')[1]!;
      const pods = await apiPods();
      const victim = replicaOf(pods.find((p) => p.metadata!.name === victimPod)!);
      const oldPid = before.find((r) => r.name === victim)!.pid;
      // The supervisor restarts it under a new pid; readiness comes back through the polling.
      const after = await eventually(async () => (await replicas()).find((r) => r.name === victim && r.ready && r.pid !== oldPid));
      expect(after.restarts).toBe(before.find((r) => r.name === victim)!.restarts + 1);
      await eventually(
        () => seen.some((s) => s.pod === victimPod && !s.ready) && seen.some((s, i) => s.pod === victimPod && s.ready && i > seen.findIndex((x) => !x.ready)),
      );
      await eventually(() => readyReplicas.includes(before.length - 1) && readyReplicas.at(-1) === before.length);
      const pod = await core.readNamespacedPod({ name: victimPod, namespace: NS });
      expect(pod.status!.containerStatuses![0]).toMatchObject({ restartCount: after.restarts, containerID: `process://${after.pid}`, ready: true });
      // One-shot: a kill cannot be undone; deleting the object only removes it.
      await custom.deleteNamespacedCustomObject({ ...chaosRef('podchaos'), name: 'kill-one' });
      await eventually(() => gone('podchaos', 'kill-one'));
    } finally {
      podWatch.abort();
      depWatch.abort();
    }
  });

  it('a PodChaos pod-failure pauses a real replica (SIGSTOP) and deleting it resumes the process', async () => {
    await eventually(async () => (await apiPods()).every(isReady));
    await custom.createNamespacedCustomObject({
      ...chaosRef('podchaos'),
      body: chaosObject('PodChaos', 'pause-one', {
        action: 'pod-failure',
        mode: 'one',
        selector: { namespaces: [NS], labelSelectors: { app: 'graph-api' } },
        duration: '60s',
      }),
    });
    const injected = await eventually(async () => {
      const o = await getChaos('podchaos', 'pause-one');
      return conditionOf(o, 'AllInjected') === 'True' && o;
    });
    const victimPod = injected.status!.experiment!.containerRecords![0]!.id.split('/')[1]!;
    const victim = replicaOf(await core.readNamespacedPod({ name: victimPod, namespace: NS }));
    const pid = (await replicas()).find((r) => r.name === victim)!.pid!;
    expect(stateOf(pid)).toBe('T');
    // The health check fails against a stopped process: the pod is reported not ready.
    await eventually(async () => !isReady(await core.readNamespacedPod({ name: victimPod, namespace: NS })));
    await custom.deleteNamespacedCustomObject({ ...chaosRef('podchaos'), name: 'pause-one' });
    await eventually(() => gone('podchaos', 'pause-one'));
    expect(stateOf(pid)).not.toBe('T');
    await eventually(async () => isReady(await core.readNamespacedPod({ name: victimPod, namespace: NS })));
    expect((await replicas()).find((r) => r.name === victim)!.pid).toBe(pid); // the same process, resumed
  });

  it('a NetworkChaos delay on graph-db slows a real database round trip, and is cleared on delete', async () => {
    const client = new pg.Client({ connectionString: sim.stage.urls.databaseViaProxy });
    await client.connect();
    try {
      await custom.createNamespacedCustomObject({
        ...chaosRef('networkchaos'),
        body: chaosObject('NetworkChaos', 'db-delay', {
          action: 'delay',
          mode: 'all',
          direction: 'both',
          selector: { namespaces: [NS], labelSelectors: { app: 'graph-db' } },
          delay: { latency: '400ms', correlation: '0' },
          duration: '60s',
        }),
      });
      await eventually(async () => conditionOf(await getChaos('networkchaos', 'db-delay'), 'AllInjected') === 'True');
      expect(await proxyState('db')).toMatchObject({ delayMs: 400 });
      // 400 ms each way through the proxy: no round trip can take less than 800 ms.
      const t0 = performance.now();
      await client.query('SELECT 1');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(800);
      await custom.deleteNamespacedCustomObject({ ...chaosRef('networkchaos'), name: 'db-delay' });
      await eventually(() => gone('networkchaos', 'db-delay'));
      expect(await proxyState('db')).not.toHaveProperty('delayMs');
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  });

  it('a PodChaos pod-failure on graph-db-0 stops the real database: the pod and the StatefulSet say so until it is deleted', async () => {
    await custom.createNamespacedCustomObject({
      ...chaosRef('podchaos'),
      body: chaosObject('PodChaos', 'db-down', {
        action: 'pod-failure',
        mode: 'one',
        selector: { namespaces: [NS], labelSelectors: { app: 'graph-db' } },
        duration: '60s',
      }),
    });
    await eventually(async () => conditionOf(await getChaos('podchaos', 'db-down'), 'AllInjected') === 'True');
    const client = new pg.Client({ connectionString: sim.stage.urls.database, connectionTimeoutMillis: 2_000 });
    await expect(client.connect()).rejects.toThrow();
    await eventually(async () => !isReady(await core.readNamespacedPod({ name: 'graph-db-0', namespace: NS })));
    expect((await apps.readNamespacedStatefulSet({ name: 'graph-db', namespace: NS })).status!.readyReplicas ?? 0).toBe(0);
    await custom.deleteNamespacedCustomObject({ ...chaosRef('podchaos'), name: 'db-down' });
    await eventually(() => gone('podchaos', 'db-down'));
    await eventually(async () => isReady(await core.readNamespacedPod({ name: 'graph-db-0', namespace: NS })));
    const again = new pg.Client({ connectionString: sim.stage.urls.database });
    await again.connect();
    expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await again.end();
  });

  it('a StressChaos runs stress-ng for as long as it is injected', async () => {
    const stressors = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'stress-ng';
          } catch {
            return false;
          }
        });
    const before = stressors().length;
    // The test before stops the database, and the replicas' readiness follows it back: the sim selects
    // only ready pods (as Chaos Mesh does), so wait for them rather than race an empty selection.
    await eventually(async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=graph-api' })).items;
      return pods.length > 0 && pods.every(isReady);
    });
    await custom.createNamespacedCustomObject({
      ...chaosRef('stresschaos'),
      body: chaosObject('StressChaos', 'burn', {
        mode: 'one',
        selector: { namespaces: [NS], labelSelectors: { app: 'graph-api' } },
        stressors: { cpu: { workers: 1, load: 20 } },
        duration: '60s',
      }),
    });
    await eventually(async () => conditionOf(await getChaos('stresschaos', 'burn'), 'AllInjected') === 'True');
    expect(stressors().length).toBeGreaterThan(before);
    await custom.deleteNamespacedCustomObject({ ...chaosRef('stresschaos'), name: 'burn' });
    await eventually(() => gone('stresschaos', 'burn'));
    await eventually(() => stressors().length <= before);
  });

  it('without stress-ng a StressChaos gets an Apply Failed record saying so', async () => {
    const other = new KubeSim({ stage: sim.stage, stressNg: null, injectDelayMs: 10 });
    await other.start();
    try {
      const res = await fetch(`${other.url}/apis/chaos-mesh.org/v1alpha1/namespaces/${NS}/stresschaos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          chaosObject('StressChaos', 'no-tool', {
            mode: 'one',
            selector: { namespaces: [NS], labelSelectors: { app: 'graph-api' } },
            stressors: { cpu: { workers: 1, load: 10 } },
            duration: '30s',
          }),
        ),
      });
      expect(res.status).toBe(201);
      const failed = await eventually(() => {
        const o = other.get('StressChaos', NS, 'no-tool');
        const records = (o?.status?.experiment as { containerRecords?: Array<{ events: Array<{ type: string; operation: string; message?: string }> }> })
          ?.containerRecords;
        return records?.[0]?.events[0];
      });
      expect(failed).toMatchObject({ type: 'Failed', operation: 'Apply', message: expect.stringMatching(/stress-ng is not installed/) });
      expect(conditionOf(other.get('StressChaos', NS, 'no-tool')! as never, 'AllInjected')).toBe('False');
    } finally {
      await other.stop();
    }
  });
});

describe('services and their proxy subresources', () => {
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${sim.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });

  it('the kubeconfig is the owner’s alone and names context sim, namespace intelgraph', () => {
    expect(statSync(sim.kubeconfigPath).mode & 0o777).toBe(0o600);
    expect(kc.getCurrentContext()).toBe('sim');
    expect(kc.getContextObject('sim')!.namespace).toBe(NS);
  });

  it('Prometheus answers a query through monitoring/prometheus:9090 (the simulation adds its basic auth)', async () => {
    const res = await api('/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query?query=up');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string> }> } };
    expect(body.status).toBe('success');
    expect(body.data.result.length).toBeGreaterThan(0);
    const svc = await core.listNamespacedService({ namespace: 'monitoring' });
    expect(svc.items.map((s) => s.metadata!.name).sort()).toEqual(['alertmanager', 'prometheus', 'tempo']);
  });

  it('the service answers through intelgraph/graph-api:80 and each ready pod through its own proxy', async () => {
    expect((await api(`/api/v1/namespaces/${NS}/services/graph-api:80/proxy/healthz`)).status).toBe(200);
    const pod = (await apiPods()).find(isReady)!;
    expect((await api(`/api/v1/namespaces/${NS}/pods/${pod.metadata!.name}/proxy/healthz`)).status).toBe(200);
    const missing = await api(`/api/v1/namespaces/${NS}/pods/graph-api-nope-9/proxy/healthz`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: 'Status', code: 404 });
  });

  it('a trace of a request to the stage service is readable through monitoring/tempo:3200', async () => {
    const traceId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const res = await fetch(`${sim.stage.urls.service}/`, { headers: { traceparent: `00-${traceId}-${'ab'.repeat(8)}-01` } });
    expect(res.status).toBe(200);
    const batches = await eventually(async () => {
      const r = await api(`/api/v1/namespaces/monitoring/services/tempo:3200/proxy/api/traces/${traceId}`);
      return r.status === 200 && ((await r.json()) as { batches: unknown[] });
    });
    const spans = tempoTraceToSpans(batches);
    expect(spans.length).toBeGreaterThan(0);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
    expect(spans.map((s) => s.service)).toContain('graph-api');
    expect((await api(`/api/v1/namespaces/monitoring/services/tempo:3200/proxy/api/traces/${'0'.repeat(31)}1`)).status).toBe(404);
  });
});
