// Crash recovery on Kubernetes: a harness process injects a NetworkChaos through the
// Chaos Mesh provider (the revert journaled first) and is SIGKILLed mid-fault; `drill
// recover`, a new process, reads the journal and deletes the object on the API server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim } from '@drillbook/stage';
import { CrdValidator } from '../../src/faults/chaos-mesh/schema.ts';
import { CHAOS_MESH_CRDS } from '../support/reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-k8s-crash-'));
const crds = CrdValidator.ifPresent(CHAOS_MESH_CRDS);
const sim = new KubeSim({
  injectDelayMs: 100,
  deployments: [{ namespace: 'intelgraph', name: 'graph-api', replicas: 2, labels: { app: 'graph-api' } }],
  validate: crds && ((o) => crds.validate(o)),
});
const children: ChildProcess[] = [];
let kubeconfig = '';

beforeAll(async () => {
  await sim.start();
  kubeconfig = sim.writeKubeconfig(join(dir, 'kubeconfig'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.on('exit', (code) => r(code))));

describe('crash recovery on Kubernetes', () => {
  it('SIGKILL of the harness mid-fault, then `drill recover` in a new process deletes the chaos object', async () => {
    const journal = join(dir, 'journal.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'chaos-mesh-crash-harness.ts'), journal, kubeconfig], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const name = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /INJECTED NetworkChaos intelgraph\/(\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`harness exited before injecting (${code})`)));
    });
    child.kill('SIGKILL');
    await exited(child);
    // The fault outlived the harness, and the journal holds what deletes it.
    expect(sim.get('NetworkChaos', 'intelgraph', name)).toMatchObject({
      status: { conditions: expect.arrayContaining([{ type: 'AllInjected', status: 'True' }]) },
    });
    expect(readFileSync(journal, 'utf8')).toContain(name);

    const bin = join(__dirname, '../../bin/drill.js');
    // Spawned, not run synchronously: the simulated API server lives in this process and must keep answering.
    const recover = spawn(process.execPath, [bin, 'recover', '--journal', journal], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(recover);
    let out = '';
    recover.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await exited(recover);
    expect(out).toMatch(/reverted 1, failed 0/);
    expect(code).toBe(0);
    expect(sim.get('NetworkChaos', 'intelgraph', name)).toBeUndefined();
    expect(sim.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      `/apis/chaos-mesh.org/v1alpha1/namespaces/intelgraph/networkchaos/${name}`,
    ]);
  });
});
