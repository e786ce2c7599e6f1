// The Kubernetes path, against the simulated API server (no cluster runs here) and the
// published Chaos Mesh CRD schemas. The provider does not know it talks to a simulation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSpec, KubernetesEnvironment } from '../../src/define/types.ts';
import { RealClock } from '../../src/engine/clock.ts';
import type { ProviderContext } from '../../src/engine/types.ts';
import { chaosObjectFor, workflowFor } from '../../src/faults/chaos-mesh/objects.ts';
import { chaosMeshProvider, setPaused, waitForWorkloadReady } from '../../src/faults/chaos-mesh/provider.ts';
import { CrdValidator } from '../../src/faults/chaos-mesh/schema.ts';
import { SafetyError } from '../../src/faults/kubernetes/allow-list.ts';
import { KubeSim } from '../support/kube-sim/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-k8s-'));
const sim = new KubeSim({ injectDelayMs: 150, podRestartMs: 400, deployments: [{ namespace: 'intelgraph', name: 'graph-api', replicas: 3, labels: { app: 'graph-api' } }] });
let kubeconfig = '';
const env: KubernetesEnvironment = {
  kind: 'kubernetes',
  context: 'stage-sim',
  namespaces: ['intelgraph'],
  targets: { api: { selector: { app: 'graph-api' }, namespace: 'intelgraph' }, db: { selector: { app: 'graph-db' }, namespace: 'intelgraph' }, payments: { selector: { app: 'pay' }, namespace: 'payments' } },
};
const ctx = (): ProviderContext => ({ environmentName: 'stage', environment: env, clock: new RealClock(), signal: new AbortController().signal, log: () => {}, resolveTarget: (n) => env.targets[n] });

beforeAll(async () => {
  await sim.start();
  kubeconfig = sim.writeKubeconfig(join(dir, 'kubeconfig'));
});
afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const faults: FaultSpec[] = [
  { kind: 'pod-kill', target: 'api', selection: { mode: 'one' } },
  { kind: 'pod-failure', target: 'api', selection: { mode: 'fixed', value: 2 }, duration: 30_000 },
  { kind: 'network', target: 'api', selection: { mode: 'all' }, duration: 120_000, delay: 300, jitter: 50, direction: 'to', dependency: 'db' },
  { kind: 'network', target: 'api', selection: { mode: 'fixed-percent', value: 50 }, duration: 60_000, loss: 0.1, direction: 'both' },
  { kind: 'network', target: 'api', selection: { mode: 'one' }, duration: 60_000, bandwidth: 125_000, direction: 'from' },
  { kind: 'network', target: 'api', selection: { mode: 'one' }, duration: 60_000, blackhole: true, direction: 'to' },
  { kind: 'dependency-outage', target: 'db', selection: { mode: 'all' }, duration: 60_000 },
  { kind: 'stress', target: 'api', selection: { mode: 'one' }, duration: 60_000, cpu: { workers: 2, load: 80 } },
];

describe('Chaos Mesh objects', () => {
  const validator = new CrdValidator();
  it.each(faults.map((f) => [`${f.kind}${'delay' in f && f.delay ? ' delay' : ''}${'loss' in f && f.loss ? ' loss' : ''}${'bandwidth' in f && f.bandwidth ? ' bandwidth' : ''}${'blackhole' in f && f.blackhole ? ' blackhole' : ''} (${f.selection?.mode})`, f] as const))(
    '%s validates against the real CRD schema and always carries a duration',
    (_name, f) => {
      const o = chaosObjectFor(f, env, { runId: 'run-20261122-220501-ab12', faultId: '1-phase' });
      expect(validator.validate(o)).toEqual([]);
      expect(typeof o.spec.duration).toBe('string');
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(o.metadata.labels['app.kubernetes.io/managed-by']).toBe('drillbook');
    },
  );

  it('a Workflow running faults in series validates too', () => {
    expect(validator.validate(workflowFor(faults.slice(0, 3), env, { runId: 'r1', name: 'nightly' }))).toEqual([]);
  });

  it('an invalid object is named field by field', () => {
    const o = chaosObjectFor(faults[0]!, env, { runId: 'r', faultId: 'f' });
    (o.spec as Record<string, unknown>).mode = 'some';
    expect(validator.validate(o)).toEqual([{ path: '/spec/mode', message: expect.stringMatching(/allowed values \(one, all, fixed, fixed-percent, random-max-percent\)/) }]);
  });
});

describe('Chaos Mesh provider against the simulated API server', () => {
  it('PodChaos: created, t_inject from the watched Apply event, the workload dips and recovers, reverted by delete', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const f = faults[0]!;
    const record = await provider.prepare(f, 'run-20261122-220501-ab12-1-replica-loss', ctx());
    const injected = await provider.inject(f, record, ctx());
    const name = (record.data.object as { metadata: { name: string } }).metadata.name;
    expect(injected.tInject).toBe(sim.appliedAt.get(name));
    expect((await provider.status(record)).active).toBe(true);
    expect(sim.get('Deployment', 'intelgraph', 'graph-api')!.status).toMatchObject({ readyReplicas: 2 });
    const readyAt = await waitForWorkloadReady(kubeconfig, 'stage-sim', 'intelgraph', 'graph-api');
    expect(readyAt).toBeGreaterThan(injected.tInject);
    await provider.revert(record, { log: () => {}, signal: new AbortController().signal });
    expect(sim.get('PodChaos', 'intelgraph', name)).toBeUndefined();
    await provider.revert(record, { log: () => {}, signal: new AbortController().signal }); // idempotent
  });

  it('NetworkChaos: injected, paused and resumed by annotation, reverted by delete', async () => {
    const provider = chaosMeshProvider({ kubeconfig });
    const f = faults[2]!;
    const record = await provider.prepare(f, 'run-20261122-220501-ab12-2-slow-db', ctx());
    const injected = await provider.inject(f, record, ctx());
    const name = (record.data.object as { metadata: { name: string } }).metadata.name;
    expect(injected.tInject).toBe(sim.appliedAt.get(name));
    const created = sim.get('NetworkChaos', 'intelgraph', name)!;
    expect(created.spec).toMatchObject({ action: 'delay', delay: { latency: '300ms', jitter: '50ms' }, duration: '2m', target: { selector: { labelSelectors: { app: 'graph-db' } } } });
    await setPaused(record, true);
    expect((await provider.status(record)).detail).toMatch(/paused/);
    await setPaused(record, false);
    expect((await provider.status(record)).active).toBe(true);
    await provider.revert(record, { log: () => {}, signal: new AbortController().signal });
    expect(sim.get('NetworkChaos', 'intelgraph', name)).toBeUndefined();
  });

  it('the simulated API server rejects an object that breaks the schema with a Kubernetes 422', async () => {
    const { CustomObjects, loadKubeConfig } = await import('../../src/faults/kubernetes/client.ts');
    const c = new CustomObjects(loadKubeConfig(kubeconfig));
    const bad = chaosObjectFor(faults[1]!, env, { runId: 'r', faultId: 'bad' });
    (bad.spec as Record<string, unknown>).action = 'pod-explode';
    await expect(c.create({ group: 'chaos-mesh.org', version: 'v1alpha1', plural: 'podchaos', namespace: 'intelgraph' }, bad)).rejects.toThrow(/is invalid: spec\.action: must be equal to one of the allowed values.*\(HTTP 422\)/);
  });

  it('a namespace off the allow-list, or another context, is refused before any request', async () => {
    const before = sim.requests.length;
    const provider = chaosMeshProvider({ kubeconfig });
    await expect(provider.prepare({ kind: 'pod-kill', target: 'payments', selection: { mode: 'one' } }, 'run-1-2-3-x', ctx())).rejects.toBeInstanceOf(SafetyError);
    const otherContext = sim.writeKubeconfig(join(dir, 'other'), 'prod');
    await expect(chaosMeshProvider({ kubeconfig: otherContext }).prepare(faults[0]!, 'run-1-2-3-y', ctx())).rejects.toThrow(/context 'prod' is not the environment's context 'stage-sim'/);
    expect(sim.requests.length).toBe(before);
  });
});

describe('crash recovery on Kubernetes', () => {
  it('SIGKILL of the harness mid-fault, then `drill recover` deletes the chaos object', async () => {
    const { spawn } = await import('node:child_process');
    const journal = join(dir, 'journal.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures-k8s-harness.ts'), journal, kubeconfig], { stdio: ['ignore', 'pipe', 'inherit'] });
    const target = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /INJECTED NetworkChaos intelgraph\/(\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`harness exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(sim.get('NetworkChaos', 'intelgraph', target)).toBeDefined(); // the fault outlived the harness
    const bin = join(__dirname, '../../bin/drill.js');
    // Asynchronously: the simulated API server lives in this process and must keep answering.
    const recover = spawn(process.execPath, [bin, 'recover', '--journal', journal], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    recover.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => recover.on('exit', r));
    expect(out).toMatch(/reverted 1, failed 0/);
    expect(code).toBe(0);
    expect(sim.get('NetworkChaos', 'intelgraph', target)).toBeUndefined();
  });
});
