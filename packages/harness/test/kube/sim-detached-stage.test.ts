// The simulation as a background service (simUp/simDown/simStatus, what `drill sim up|down`
// runs): it answers through its kubeconfig, stops cleanly, and when it is killed outright
// nothing it started lives on (stress-ng through its lifeline, the stage through its own).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { simDown, simStatus, simUp } from '@drillbook/stage';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-sim-detached-'));
afterAll(async () => {
  await simDown(dir);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function eventually<T>(fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};
const stressNgPids = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'stress-ng';
      } catch {
        return false;
      }
    })
    .map(Number);

describe('the detached simulation', () => {
  it('up answers through its kubeconfig, a second up finds it, down stops it and its stage', async () => {
    const up = await simUp({ stateDir: dir, replicas: 2 });
    expect(up.alreadyRunning).toBe(false);
    expect(simStatus(dir)).toMatchObject({ running: true, state: { url: up.url, pid: up.pid } });
    const kc = new KubeConfig();
    kc.loadFromFile(up.kubeconfigPath);
    expect(kc.getCurrentContext()).toBe('sim');
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'intelgraph', labelSelector: 'app=graph-api' });
    expect(pods.items).toHaveLength(2);
    expect((await simUp({ stateDir: dir })).alreadyRunning).toBe(true);
    const stage = JSON.parse(readFileSync(join(up.stageStateDir, 'stage.json'), 'utf8')) as { processes: Array<{ pid: number }> };
    expect(await simDown(dir)).toEqual({ stopped: true });
    expect(simStatus(dir).running).toBe(false);
    expect(alive(up.pid)).toBe(false);
    await eventually(() => stage.processes.every((p) => !alive(p.pid)));
  }, 240_000);

  it('killed outright (SIGKILL) mid-StressChaos: stress-ng and the stage go with it', async () => {
    const up = await simUp({ stateDir: dir, replicas: 1 });
    const kc = new KubeConfig();
    kc.loadFromFile(up.kubeconfigPath);
    const before = new Set(stressNgPids());
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'chaos-mesh.org',
      version: 'v1alpha1',
      namespace: 'intelgraph',
      plural: 'stresschaos',
      body: {
        apiVersion: 'chaos-mesh.org/v1alpha1',
        kind: 'StressChaos',
        metadata: { name: 'burn' },
        spec: {
          mode: 'one',
          selector: { namespaces: ['intelgraph'], labelSelectors: { app: 'graph-api' } },
          stressors: { cpu: { workers: 1, load: 10 } },
          duration: '10m',
        },
      },
    });
    const ours = await eventually(() => {
      const now = stressNgPids().filter((p) => !before.has(p));
      return now.length > 0 && now;
    });
    const stage = JSON.parse(readFileSync(join(up.stageStateDir, 'stage.json'), 'utf8')) as { processes: Array<{ pid: number }> };
    process.kill(up.pid, 'SIGKILL');
    await eventually(() => ours.every((p) => !alive(p)));
    await eventually(() => stage.processes.every((p) => !alive(p.pid)));
    expect(simStatus(dir).running).toBe(false);
  }, 240_000);
});
