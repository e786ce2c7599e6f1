// Kubernetes end to end, where no cluster can run: the seed nightly drill, unchanged, against
// the simulated API server in front of the local stage's real processes (started here, as
// `drill sim up` would). Faults go in as Chaos Mesh objects through @kubernetes/client-node,
// probes and load reach the service through the API server's pod proxy, Prometheus and Tempo
// through its service proxy — and the pack it writes verifies. `drill doctor` passes every check,
// and a (short) bake runs through the same path.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimStage } from '@drillbook/stage';
import { CrdValidator } from '../../src/faults/chaos-mesh/schema.ts';
import { loadConfig } from '../../src/project/loader.ts';
import { CHAOS_MESH_CRDS } from '../support/reference.ts';
import { drill } from '../support/drill-in-process.ts';
import { runSeedDrill, seedProject, startSimForProject } from '../support/seed-project.ts';

const project = seedProject('drillbook-nightly-sim-');
let sim: SimStage;

beforeAll(async () => {
  const validator = CrdValidator.ifPresent(CHAOS_MESH_CRDS);
  // As drill sim up does: the cluster's Alertmanager delivers to the sim environment's fixed webhook.
  const { config } = await loadConfig(project.root);
  const webhook = (config.environments.sim as { alertWebhook: { port: number; tokenFile: string } }).alertWebhook;
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(join(project.root, webhook.tokenFile)), { recursive: true });
  writeFileSync(join(project.root, webhook.tokenFile), token, { mode: 0o600 });
  sim = await startSimForProject(project.root, {
    alertWebhookUrl: `http://127.0.0.1:${webhook.port}/alertmanager`,
    alertWebhookToken: token,
    ...(validator ? { validate: (o: unknown) => validator.validate(o as never) } : {}),
  });
}, 120_000);

afterAll(async () => {
  await sim?.stop();
  project.remove();
});

describe('the nightly drill on Kubernetes (the simulated API server over the local stage)', () => {
  it('drill doctor --env sim passes every check', async () => {
    const prev = process.cwd();
    process.chdir(project.root);
    try {
      const r = await drill('doctor', '--env', 'sim');
      expect(r.out).toContain('✓ CRD podchaos.chaos-mesh.org');
      expect(r.out).toContain('✓ RBAC');
      expect(r.out).toContain('✓ Prometheus: service monitoring/prometheus:9090 answers');
      expect(r.out).toMatch(/✓ target api: 2\/2 pods ready/);
      expect(r.out).toMatch(/all \d+ checks passed/);
      expect(r.code).toBe(0);
    } finally {
      process.chdir(prev);
    }
  });

  it('passes with faults as Chaos Mesh objects, and its pack verifies', async () => {
    const before = sim.sim.requests.length;
    const record = await runSeedDrill(project.root, 'nightly', 'sim');
    const calls = sim.sim.requests.slice(before);
    // The faults went in through the API: a PodChaos and a NetworkChaos were created, and deleted again.
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/podchaos'))).toBe(true);
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/networkchaos'))).toBe(true);
    // Probes and load reached the service through the pod proxy; Prometheus through the service proxy.
    expect(calls.some((c) => /\/pods\/graph-api-[^/]+\/proxy\//.test(c.path))).toBe(true);
    expect(calls.some((c) => c.path.includes('/services/prometheus:9090/proxy/'))).toBe(true);
    expect(record.facts).toMatchObject({ kubernetes: { context: 'sim', server: sim.url } });
    const ttd = record.measures['replica-loss.ttd']!.value;
    const ttr = record.measures['replica-loss.ttr']!.value;
    expect(ttd).toBeGreaterThan(0); // GraphApiReplicaDown fired, seen in Prometheus through the service proxy
    expect(ttr).toBeLessThanOrEqual(60_000);
    expect(record.measures.traceCoverage!.value).toBeGreaterThanOrEqual(0.7); // journeys' traces read back from the sim's Tempo
    console.log(`sim: replica-loss TTD ${ttd} ms, TTR ${ttr} ms; slow-db TTR ${record.measures['slow-db.ttr']!.value} ms`);
    // Nothing of the run is left on the API server.
    for (const kind of ['PodChaos', 'NetworkChaos']) expect(sim.sim.store.list({ kind, namespace: 'intelgraph' })).toEqual([]);
    expect(readFileSync(join(project.root, '.drillbook', 'journal.jsonl'), 'utf8')).not.toContain('"op":"failed"');
  }, 300_000);

  it('a bake runs through the same path: load, journeys and alerts for its windows, and its pack verifies', async () => {
    const prev = process.cwd();
    process.chdir(project.root);
    try {
      const r = await drill('bake', 'drills/bake-72h.ts', '--env', 'sim', '--duration', '1m', '--checkpoint', '30s', '--release', 'sim-bake');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/bake-72h — PASS · 2 checkpoints/);
      const v = await drill('verify', 'evidence-pack/release-sim-bake', '--key', '.drillbook/keys/signing.pub');
      expect(v.out).toContain('OK evidence-pack/release-sim-bake');
      expect(v.code).toBe(0);
    } finally {
      process.chdir(prev);
    }
  }, 300_000);

  it('game-day 2: the alert reaches the run through the cluster’s Alertmanager and the rollback script mitigates; its pack verifies', async () => {
    const record = await runSeedDrill(project.root, 'gameday-migration-rollback', 'sim');
    const alerts = record.events.filter((e) => e.kind === 'alert' && e.alert === 'GraphApiRouteFailing' && e.state === 'firing');
    expect(alerts.some((e) => e.kind === 'alert' && e.source === 'alertmanager')).toBe(true);
    expect(record.measures['bad-migration.ttm']!.value).toBeGreaterThan(0);
    console.log(`sim: bad-migration TTD ${record.measures['bad-migration.ttd']!.value} ms, TTM ${record.measures['bad-migration.ttm']!.value} ms`);
  }, 300_000);

  // Last: the outage leaves the availability burn alerts firing for a while, which a bake after it would count.
  it('game-day 1: the database pods fail (PodChaos pod-failure), both alerts fire, the service comes back; its pack verifies', async () => {
    const before = sim.sim.requests.length;
    const record = await runSeedDrill(project.root, 'gameday-dependency-outage', 'sim');
    const calls = sim.sim.requests.slice(before);
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/podchaos'))).toBe(true);
    // The SQL probe's database URL came from the Secret, as a team keeps its credentials.
    expect(calls.some((c) => c.method === 'GET' && c.path.endsWith('/secrets/graph-db-drill'))).toBe(true);
    expect(record.measures['db-outage.ttd']!.value).toBeGreaterThan(0);
    expect(record.measures['db-outage.ttr']!.value).toBeGreaterThan(0);
    console.log(`sim: db-outage TTD ${record.measures['db-outage.ttd']!.value} ms, TTR ${record.measures['db-outage.ttr']!.value} ms`);
  }, 300_000);
});
