// Safety on Kubernetes is absolute: a context the kubeconfig lacks, a namespace off the
// allow-list, and a journaled context whose server has changed are each refused before a single
// call reaches the API server (counted at the simulated one). And `drill doctor` against an API
// server without Chaos Mesh's CRDs names the missing ones and exits 4.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim } from '@drillbook/stage';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { drill } from '../support/drill-in-process.ts';
import { repoRoot } from '../support/seed-project.ts';

const root = mkdtempSync(join(repoRoot, '.tmp-k8s-refusals-'));
const sim = new KubeSim({ deployments: [{ namespace: 'intelgraph', name: 'graph-api', replicas: 2, labels: { app: 'graph-api' } }] });
const bare = new KubeSim({ crds: { chaosMesh: false, k6Operator: false } });

const config = (kubeconfig: string) => `
import { defineConfig } from '@drillbook/harness';
export default defineConfig({
  environments: {
    sim: { kind: 'kubernetes', kubeconfig: '${kubeconfig}', context: 'sim', namespaces: ['intelgraph'], targets: { api: { selector: { app: 'graph-api' } } } },
    elsewhere: { kind: 'kubernetes', kubeconfig: '${kubeconfig}', context: 'nowhere', namespaces: ['intelgraph'], targets: { api: { selector: { app: 'graph-api' } } } },
    offlist: {
      kind: 'kubernetes', kubeconfig: '${kubeconfig}', context: 'sim', namespaces: ['intelgraph'],
      targets: { api: { selector: { app: 'graph-api' }, namespace: 'kube-system' } },
    },
    bare: { kind: 'kubernetes', kubeconfig: 'bare-kubeconfig', context: 'sim', namespaces: ['intelgraph'], targets: { api: { selector: { app: 'graph-api' } } } },
  },
});
`;

const drillSource = `
import { defineGameDay, fault, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'kill-one',
  environments: ['sim', 'elsewhere', 'offlist'],
  steadyState: [probe.k8s({ target: 'api', ready: '>= 1' })],
  phases: [{ name: 'replica-loss', fault: fault.podKill({ target: 'api' }), expect: { recoverWithin: '30s' } }],
});
`;

let cwd = '';
beforeAll(async () => {
  await sim.start();
  await bare.start();
  sim.writeKubeconfig(join(root, 'kubeconfig'), 'sim');
  bare.writeKubeconfig(join(root, 'bare-kubeconfig'), 'sim');
  writeFileSync(join(root, 'drillbook.config.ts'), config('kubeconfig'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(root, 'drills'));
  writeFileSync(join(root, 'drills', 'kill-one.ts'), drillSource);
  symlinkSync(join(repoRoot, 'alerts'), join(root, 'alerts'));
  cwd = process.cwd();
  process.chdir(root);
});
afterAll(async () => {
  process.chdir(cwd);
  await sim.stop();
  await bare.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('refused before any call reaches the API server', () => {
  it('a context the kubeconfig does not have (exit 2), not the current one instead', async () => {
    const before = sim.requests.length;
    const r = await drill('run', 'drills/kill-one.ts', '--env', 'elsewhere');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has no context 'nowhere' \(it has 'sim'\): refusing to guess/);
    expect(sim.requests.length - before).toBe(0);
  });

  it('a target namespace off the allow-list (exit 2, naming the field and the fix)', async () => {
    const before = sim.requests.length;
    const r = await drill('run', 'drills/kill-one.ts', '--env', 'offlist');
    expect(r.code).toBe(2);
    expect(r.err).toContain("environments.offlist.targets.api.namespace: namespace 'kube-system' is not on the allow-list (intelgraph)");
    expect(r.err).toContain('add it to environments.offlist.namespaces');
    expect(sim.requests.length - before).toBe(0);
  });

  it('a journaled fault whose context now points at another server (exit 4): nothing is deleted on the new one', async () => {
    const journal = RollbackJournal.forProject(root);
    // A crashed run (a pid that is gone) left a PodChaos on the server the context used to name.
    journal.recordPending({
      faultId: 'run-20261201-000000-dead-0-inject',
      provider: 'chaos-mesh',
      description: 'delete PodChaos intelgraph/drillbook-old (context sim)',
      data: {
        apiVersion: 'chaos-mesh.org/v1alpha1',
        kind: 'PodChaos',
        namespace: 'intelgraph',
        name: 'drillbook-old',
        context: 'sim',
        server: 'https://old-cluster.example:6443',
        kubeconfig: join(root, 'kubeconfig'),
        object: {},
      },
    });
    const lines = journal.pending();
    expect(lines).toHaveLength(1);
    // Make the owner a process that is gone: rewrite the pending line's pid.
    const file = join(root, '.drillbook', 'journal.jsonl');
    const { readFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"pid":\d+/, '"pid":999999999'));
    try {
      const before = sim.requests.length;
      const r = await drill('run', 'drills/kill-one.ts', '--env', 'sim');
      expect(r.code).toBe(4);
      expect(r.err).toMatch(
        /now points at http:\/\/127\.0\.0\.1:\d+, but PodChaos intelgraph\/drillbook-old was created on https:\/\/old-cluster\.example:6443: refusing to touch it/,
      );
      expect(sim.requests.length - before).toBe(0);
    } finally {
      journal.forget('run-20261201-000000-dead-0-inject');
    }
  });
});

describe('drill recover --env', () => {
  it('deletes chaos objects left by a run that is gone, found by their label, with no journal at all', async () => {
    const { CustomObjects, loadKubeConfig } = await import('../../src/kubernetes/client.ts');
    const { chaosObjectFor } = await import('../../src/faults/chaos-mesh/objects.ts');
    const env = { kind: 'kubernetes' as const, context: 'sim', namespaces: ['intelgraph'], targets: { api: { selector: { app: 'graph-api' } } } };
    const leftover = chaosObjectFor({ kind: 'pod-failure', target: 'api', selection: { mode: 'one' }, duration: 60_000 }, env, {
      runId: 'run-20261201-010203-gone',
      faultId: '0-inject',
    });
    const c = new CustomObjects(loadKubeConfig(join(root, 'kubeconfig'), 'sim'));
    const ref = { group: 'chaos-mesh.org', version: 'v1alpha1', plural: 'podchaos', namespace: 'intelgraph' };
    await c.create(ref, leftover);
    // Someone else's object without the drillbook label is never touched.
    await c.create(ref, { ...leftover, metadata: { ...leftover.metadata, name: 'team-own-experiment', labels: { team: 'payments' } } });
    const r = await drill('recover', '--env', 'sim');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`sim: deleted 1 chaos object(s) found by the drillbook label: podchaos/intelgraph/${leftover.metadata.name}`);
    expect(await c.get({ ...ref, name: leftover.metadata.name })).toBeUndefined();
    expect(await c.get({ ...ref, name: 'team-own-experiment' })).toBeDefined();
  });
});

describe('drill doctor', () => {
  it('against an API server without the Chaos Mesh CRDs names each missing one and exits 4', async () => {
    const r = await drill('doctor', '--env', 'bare');
    expect(r.code).toBe(4);
    expect(r.out).toContain('✓ API server');
    for (const crd of ['podchaos', 'networkchaos', 'stresschaos', 'schedules', 'workflows'])
      expect(r.out).toContain(`✗ CRD ${crd}.chaos-mesh.org: not installed (Chaos Mesh)\n    fix: install Chaos Mesh`);
  });

  it('refuses a non-Kubernetes environment with what to run instead', async () => {
    writeFileSync(join(root, 'drillbook.config.ts'), config('kubeconfig').replace('environments: {', "environments: {\n    local: { kind: 'local' },"));
    try {
      const r = await drill('doctor', '--env', 'local');
      expect(r.code).toBe(2);
      expect(r.err).toContain("'local' is a local environment: drill doctor checks Kubernetes environments");
    } finally {
      writeFileSync(join(root, 'drillbook.config.ts'), config('kubeconfig'));
    }
  });
});
