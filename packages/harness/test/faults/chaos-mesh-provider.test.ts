// The Chaos Mesh provider against the simulated API server (no cluster runs here). The
// provider is handed a kubeconfig and does not know it talks to a simulation.
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSpec, KubernetesEnvironment } from '../../src/define/types.ts';
import { RealClock } from '../../src/engine/clock.ts';
import type { ProviderContext, RevertRecord } from '../../src/engine/types.ts';
import { chaosObjectFor } from '../../src/faults/chaos-mesh/objects.ts';
import { chaosMeshProvider, serverDryRun, setPaused, waitForWorkloadReady, type ChaosRecordData } from '../../src/faults/chaos-mesh/provider.ts';
import { SafetyError } from '../../src/kubernetes/allow-list.ts';
import { CustomObjects, loadKubeConfig } from '../../src/kubernetes/client.ts';
import { KubeSim, type SimObject, type StoredEvent } from '@drillbook/stage';
import { CrdValidator } from '../../src/faults/chaos-mesh/schema.ts';
import { CHAOS_MESH_CRDS, haveChaosMeshCrds } from '../support/reference.ts';

// The simulated API server checks objects against the published CRDs only where this machine has them.
const haveCrds = haveChaosMeshCrds;
if (!haveCrds) console.warn("SKIPPED: the simulated API server's CRD schema checks (no published Chaos Mesh CRDs beside this clone)");
const crds = CrdValidator.ifPresent(CHAOS_MESH_CRDS);

const dir = mkdtempSync(join(tmpdir(), 'drillbook-k8s-'));
const sim = new KubeSim({
  injectDelayMs: 150,
  deleteDelayMs: 100,
  podRestartMs: 400,
  deployments: [{ namespace: 'intelgraph', name: 'graph-api', replicas: 3, labels: { app: 'graph-api' } }],
  validate: crds && ((o) => crds.validate(o)),
});
let kubeconfig = '';
const env: KubernetesEnvironment = {
  kind: 'kubernetes',
  context: 'stage-sim',
  namespaces: ['intelgraph'],
  targets: {
    api: { selector: { app: 'graph-api' }, namespace: 'intelgraph' },
    db: { selector: { app: 'graph-db' }, namespace: 'intelgraph' },
    payments: { selector: { app: 'pay' }, namespace: 'payments' },
  },
};
const ctx = (): ProviderContext => ({
  environmentName: 'stage',
  environment: env,
  clock: new RealClock(),
  signal: new AbortController().signal,
  log: () => {},
  resolveTarget: (n) => env.targets[n],
});
const revertCtx = () => ({ log: () => {}, signal: new AbortController().signal });
const dataOf = (r: RevertRecord) => r.data as ChaosRecordData;
const RUN = 'run-20261122-220501-ab12';

beforeAll(async () => {
  await sim.start();
  kubeconfig = sim.writeKubeconfig(join(dir, 'kubeconfig'));
});
afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every stored event for one object, in order: what a watcher of it would have seen. */
function historyOf(kind: string, name: string, from: number): StoredEvent[] {
  return sim.store.since(from, { kind, namespace: 'intelgraph', name });
}

describe('Chaos Mesh provider against the simulated API server', () => {
  it('PodChaos pod-kill: created, t_inject is the Apply event, the Deployment dips and comes back, reverted by delete', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const f: FaultSpec = { kind: 'pod-kill', target: 'api', selection: { mode: 'fixed', value: 2 } };
    const record = await provider.prepare(f, `${RUN}-0-replica-loss`, ctx());
    expect(dataOf(record)).toMatchObject({
      apiVersion: 'chaos-mesh.org/v1alpha1',
      kind: 'PodChaos',
      namespace: 'intelgraph',
      name: `drillbook-${RUN}-0-replica-loss`,
      context: 'stage-sim',
      server: sim.url,
      kubeconfig,
    });
    const injected = await provider.inject(f, record, ctx());
    expect(injected.tInject).toBe(sim.appliedAt('intelgraph', dataOf(record).name));
    expect(injected.targets).toHaveLength(3); // the object and the two killed pods
    expect((await provider.status(record)).active).toBe(true);
    expect(sim.get('Deployment', 'intelgraph', 'graph-api')!.status).toMatchObject({ readyReplicas: 1 });
    const readyAt = await waitForWorkloadReady({ kubeconfig, context: 'stage-sim', namespace: 'intelgraph', selector: { app: 'graph-api' }, requireDip: true });
    expect(readyAt).toBeGreaterThan(injected.tInject);
    expect(sim.get('Deployment', 'intelgraph', 'graph-api')!.status).toMatchObject({ readyReplicas: 3 });
    await provider.revert(record, revertCtx());
    expect(sim.get('PodChaos', 'intelgraph', dataOf(record).name)).toBeUndefined();
    await provider.revert(record, revertCtx()); // idempotent: already gone
    expect((await provider.status(record)).active).toBe(false);
  });

  it('NetworkChaos: injected towards the dependency, paused and resumed by annotation, recovered and removed on delete', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const f: FaultSpec = {
      kind: 'network',
      target: 'api',
      selection: { mode: 'all' },
      duration: 120_000,
      delay: 300,
      jitter: 50,
      direction: 'to',
      dependency: 'db',
    };
    const from = sim.store.resourceVersion;
    const record = await provider.prepare(f, `${RUN}-1-slow-db`, ctx());
    const { name } = dataOf(record);
    const injected = await provider.inject(f, record, ctx());
    expect(injected.tInject).toBe(sim.appliedAt('intelgraph', name));
    expect(sim.get('NetworkChaos', 'intelgraph', name)!.spec).toMatchObject({
      action: 'delay',
      delay: { latency: '300ms', jitter: '50ms' },
      duration: '2m',
      target: { selector: { labelSelectors: { app: 'graph-db' } } },
    });

    await setPaused(record, true);
    expect(sim.get('NetworkChaos', 'intelgraph', name)!.metadata.annotations).toEqual({ 'experiment.chaos-mesh.org/pause': 'true' });
    expect(await provider.status(record)).toMatchObject({ active: false, detail: expect.stringMatching(/paused.*Paused=True/) });
    await setPaused(record, false);
    expect(sim.get('NetworkChaos', 'intelgraph', name)!.metadata.annotations).toEqual({});
    expect((await provider.status(record)).active).toBe(true);

    await provider.revert(record, revertCtx());
    expect(sim.get('NetworkChaos', 'intelgraph', name)).toBeUndefined();
    const events = historyOf('NetworkChaos', name, from);
    expect(events.at(-1)!.type).toBe('DELETED');
    const lastState = events.at(-1)!.object as SimObject;
    const ops = (lastState.status!.experiment as { containerRecords: Array<{ events: Array<{ operation: string }> }> }).containerRecords[0]!.events.map(
      (e) => e.operation,
    );
    expect(ops).toEqual(['Apply', 'Recover', 'Apply', 'Recover']); // inject, pause, resume, delete
    expect(lastState.metadata.deletionTimestamp).toBeDefined();
    // Foreground deletion was asked for.
    expect(sim.requests.some((r) => r.method === 'DELETE' && r.path.endsWith(`/networkchaos/${name}`))).toBe(true);
  });

  it('a fault left alone expires at its duration: the controller recovers it although nobody deleted it', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const f: FaultSpec = { kind: 'pod-failure', target: 'api', selection: { mode: 'one' }, duration: 600 };
    const record = await provider.prepare(f, `${RUN}-5-short`, ctx());
    const injected = await provider.inject(f, record, ctx());
    const c = new CustomObjects(loadKubeConfig(kubeconfig));
    const ref = { group: 'chaos-mesh.org', version: 'v1alpha1', plural: 'podchaos', namespace: 'intelgraph', name: dataOf(record).name };
    const recovered = await c.waitForObject(
      ref,
      (o) =>
        ((o?.status?.conditions as Array<{ type: string; status: string }> | undefined) ?? []).some((x) => x.type === 'AllRecovered' && x.status === 'True')
          ? o
          : undefined,
      { timeoutMs: 10_000 },
    );
    const recoverAt = Date.parse(
      (
        recovered!.status!.experiment as { containerRecords: Array<{ events: Array<{ operation: string; timestamp: string }> }> }
      ).containerRecords[0]!.events.find((e) => e.operation === 'Recover')!.timestamp,
    );
    expect(recoverAt - injected.tInject).toBeGreaterThanOrEqual(599); // 600 ms, less a timer's 1 ms rounding
    expect((await provider.status(record)).active).toBe(false);
    await provider.revert(record, revertCtx());
  });

  it("waits leave no listener on the run's abort signal, and an aborted run stops a wait", async () => {
    const run = new AbortController();
    const provider = chaosMeshProvider({ kubeconfig });
    const f: FaultSpec = { kind: 'stress', target: 'api', selection: { mode: 'one' }, duration: 60_000, cpu: { workers: 1, load: 10 } };
    const record = await provider.prepare(f, `${RUN}-6-cpu`, ctx());
    await provider.inject(f, record, { ...ctx(), signal: run.signal });
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    await provider.revert(record, revertCtx());
    const stopped = new AbortController();
    const second = await provider.prepare(f, `${RUN}-6-cpu-again`, ctx());
    const pending = provider.inject(f, second, { ...ctx(), signal: stopped.signal });
    stopped.abort(new Error('run aborted'));
    await expect(pending).rejects.toThrow(/run aborted/);
    await provider.revert(second, revertCtx());
    expect(sim.get('StressChaos', 'intelgraph', dataOf(second).name)).toBeUndefined();
  });

  it('a fault that selects nothing fails inject with the object’s events, and its revert still deletes it', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const f: FaultSpec = { kind: 'dependency-outage', target: 'db', selection: { mode: 'all' }, duration: 60_000 };
    const record = await provider.prepare(f, `${RUN}-2-db-down`, ctx());
    await expect(provider.inject(f, record, ctx())).rejects.toThrow(
      /no target selected \(condition Selected=False\); events: Warning Failed: Failed to select targets: no pod is selected/,
    );
    await provider.revert(record, revertCtx());
    expect(sim.get('PodChaos', 'intelgraph', dataOf(record).name)).toBeUndefined();
  });

  it.skipIf(!haveCrds)('an object that breaks the CRD schema is rejected by the API server with a 422 naming the field', async () => {
    const c = new CustomObjects(loadKubeConfig(kubeconfig));
    const bad = chaosObjectFor({ kind: 'pod-failure', target: 'api', selection: { mode: 'one' }, duration: 30_000 }, env, { runId: RUN, faultId: 'bad' });
    (bad.spec as Record<string, unknown>).action = 'pod-explode';
    const before = sim.store.resourceVersion;
    await expect(c.create({ group: 'chaos-mesh.org', version: 'v1alpha1', plural: 'podchaos', namespace: 'intelgraph' }, bad)).rejects.toThrow(
      /PodChaos.chaos-mesh.org "drillbook-run-20261122-220501-ab12-bad" is invalid: spec\.action: must be equal to one of the allowed values.*\(HTTP 422\)/,
    );
    expect(sim.store.resourceVersion).toBe(before); // nothing stored
    const res = await fetch(`${sim.url}/apis/chaos-mesh.org/v1alpha1/namespaces/intelgraph/podchaos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(bad),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.action' }] },
    });
  });

  it('a namespace off the allow-list, or another context, is refused before any request', async () => {
    const before = sim.requests.length;
    const provider = chaosMeshProvider({ kubeconfig });
    const offList = provider.prepare({ kind: 'pod-kill', target: 'payments', selection: { mode: 'one' } }, `${RUN}-3-x`, ctx());
    await expect(offList).rejects.toBeInstanceOf(SafetyError);
    await expect(offList).rejects.toThrow(/namespace 'payments' is not on the allow-list \(intelgraph\).*environments\.stage\.namespaces/);
    // The target is allowed but the dependency it slows is not.
    await expect(
      provider.prepare(
        { kind: 'network', target: 'api', selection: { mode: 'one' }, duration: 1000, delay: 10, direction: 'to', dependency: 'payments' },
        `${RUN}-3-y`,
        ctx(),
      ),
    ).rejects.toThrow(/namespace 'payments'/);
    const otherContext = sim.writeKubeconfig(join(dir, 'other'), 'prod');
    await expect(
      chaosMeshProvider({ kubeconfig: otherContext }).prepare({ kind: 'pod-kill', target: 'api', selection: { mode: 'one' } }, `${RUN}-3-z`, ctx()),
    ).rejects.toThrow(/has no context 'stage-sim' \(it has 'prod'\): refusing to guess/);
    await expect(
      serverDryRun([chaosObjectFor({ kind: 'pod-kill', target: 'payments', selection: { mode: 'one' } }, env, { runId: RUN, faultId: 'd' })], env, {
        kubeconfig,
      }),
    ).rejects.toBeInstanceOf(SafetyError);
    expect(sim.requests.length).toBe(before);
  });

  it('a revert refuses a record whose context now points at another API server', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const record = await provider.prepare({ kind: 'pod-kill', target: 'api', selection: { mode: 'one' } }, `${RUN}-4-moved`, ctx());
    const before = sim.requests.length;
    const moved: RevertRecord = { ...record, data: { ...record.data, server: 'https://10.0.0.1:6443' } };
    await expect(provider.revert(moved, revertCtx())).rejects.toThrow(
      /now points at http:\/\/127\.0\.0\.1:\d+, but PodChaos intelgraph\/\S+ was created on https:\/\/10\.0\.0\.1:6443/,
    );
    expect(sim.requests.length).toBe(before);
  });

  it('server-side dry run: admitted by the API server, nothing persisted', async () => {
    const o = chaosObjectFor({ kind: 'stress', target: 'api', selection: { mode: 'one' }, duration: 60_000, cpu: { workers: 1, load: 50 } }, env, {
      runId: RUN,
      faultId: 'dry',
    });
    const [admitted] = await serverDryRun([o], env, { kubeconfig });
    expect(admitted).toMatchObject({ kind: 'StressChaos', metadata: { name: o.metadata.name, uid: expect.any(String) } });
    expect(sim.requests.at(-1)).toMatchObject({ method: 'POST', query: '?dryRun=All' });
    expect(sim.get('StressChaos', 'intelgraph', o.metadata.name)).toBeUndefined();
  });
});

describe('the simulated API server itself', () => {
  const headers = { authorization: `Bearer ${sim.token}` };
  const base = () => `${sim.url}/apis/chaos-mesh.org/v1alpha1/namespaces/intelgraph/podchaos`;

  it('JSON patch and merge patch on the object, the /status subresource, list with a label selector, 404 and 401', async () => {
    const o = chaosObjectFor({ kind: 'pod-failure', target: 'api', selection: { mode: 'one' }, duration: 30_000 }, env, {
      runId: 'run-20261122-220501-0001',
      faultId: 'sim',
    });
    expect((await fetch(base(), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(o) })).status).toBe(201);
    const jp = await fetch(`${base()}/${o.metadata.name}`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([
        { op: 'replace', path: '/spec/duration', value: '45s' },
        { op: 'add', path: '/metadata/labels/team', value: 'sre' },
      ]),
    });
    expect(await jp.json()).toMatchObject({ spec: { duration: '45s' }, metadata: { labels: { team: 'sre' }, generation: 2 } });
    const invalid = await fetch(`${base()}/${o.metadata.name}`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { mode: 'most' } }),
    });
    expect(invalid.status).toBe(haveCrds ? 422 : 200);
    const st = await fetch(`${base()}/${o.metadata.name}/status`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { conditions: [{ type: 'Selected', status: 'True' }], experiment: { desiredPhase: 'Run' } }, spec: { duration: '1h' } }),
    });
    expect(await st.json()).toMatchObject({ status: { conditions: [{ type: 'Selected', status: 'True' }] }, spec: { duration: '45s' } });
    // The CRD's status schema applies as well: `experiment` is required.
    if (haveCrds) {
      const badStatus = await fetch(`${base()}/${o.metadata.name}/status`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ status: { conditions: [] } }),
      });
      expect(await badStatus.json()).toMatchObject({
        code: 422,
        details: { causes: [{ field: 'status', message: "must have required property 'experiment'" }] },
      });
    }
    const list = (await (await fetch(`${base()}?labelSelector=team%3Dsre`, { headers })).json()) as {
      kind: string;
      items: SimObject[];
      metadata: { resourceVersion: string };
    };
    expect(list.kind).toBe('PodChaosList');
    expect(list.items.map((i) => i.metadata.name)).toEqual([o.metadata.name]);
    expect(Number(list.metadata.resourceVersion)).toBe(sim.store.resourceVersion);
    expect((await fetch(`${base()}/nope`, { headers })).status).toBe(404);
    expect((await fetch(base())).status).toBe(401);
    await fetch(`${base()}/${o.metadata.name}`, { method: 'DELETE', headers });
  });

  it('a watch from a resourceVersion replays what came after it; without one it starts with what exists', async () => {
    const rv = sim.store.resourceVersion;
    const o = chaosObjectFor({ kind: 'pod-failure', target: 'api', selection: { mode: 'one' }, duration: 30_000 }, env, {
      runId: 'run-20261122-220501-0002',
      faultId: 'watch',
    });
    await fetch(base(), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(o) });
    const read = async (query: string, lines: number) => {
      const ac = new AbortController();
      const res = await fetch(`${base()}?watch=true&fieldSelector=metadata.name%3D${o.metadata.name}${query}`, { headers, signal: ac.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (text.split('\n').filter(Boolean).length < lines) text += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; object: SimObject });
    };
    const fromRv = await read(`&resourceVersion=${rv}`, 2); // ADDED, then the controller's MODIFIED
    expect(fromRv.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(Number(fromRv[1]!.object.metadata.resourceVersion)).toBeGreaterThan(Number(fromRv[0]!.object.metadata.resourceVersion));
    const fresh = await read('', 1);
    expect(fresh[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: o.metadata.name }, status: { conditions: expect.any(Array) } } });
    await fetch(`${base()}/${o.metadata.name}`, { method: 'DELETE', headers });
  });
});
