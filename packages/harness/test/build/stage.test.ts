// Proof against the real local stage (@drillbook/stage): PostgreSQL, two graph-api
// replicas behind the balancer, Prometheus scraping every second with the rules
// `drill build` generated. Every rule loads healthy; every dashboard query parses and
// the SLO panels return data under load; a killed replica fires GraphApiReplicaDown;
// stopping the database (the service answers 503) makes the page alert
// GraphApiAvailability pending/firing and GraphApiDatabaseDown fire.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleStage, startStage, type ReplicaInfo, type Stage } from '@drillbook/stage';
import { runBuild, type BuildReport } from '../../src/build/run.ts';
import { concretise, dashboardQueries } from '../../src/build/dashboards.ts';
import { until } from '../support/until.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
let tmp: string;
let stateDir: string;
let report: BuildReport;
let stage: Stage | undefined;
let load: NodeJS.Timeout | undefined;

interface Alert {
  labels: Record<string, string>;
  state: string;
}

async function prom<T>(p: string): Promise<{ status: number; body: { status: string; data: T; error?: string } }> {
  const auth = Buffer.from(`${stage!.auth.prometheus.username}:${stage!.auth.prometheus.password}`).toString('base64');
  const res = await fetch(`${stage!.urls.prometheus}${p}`, { headers: { authorization: `Basic ${auth}` } });
  return { status: res.status, body: (await res.json()) as { status: string; data: T; error?: string } };
}

const alerts = async () => (await prom<{ alerts: Alert[] }>('/api/v1/alerts')).body.data.alerts;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'drillbook-build-stage-'));
  // PostgreSQL runs as its own user and must reach the stage's WAL archive below this dir.
  await chmod(tmp, 0o755);
  stateDir = path.join(tmp, 'stage');
  report = await runBuild({ projectRoot: repoRoot, outDir: path.join(tmp, 'out') });
  stage = await startStage({ stateDir, rulesDir: path.join(tmp, 'out/alerts'), scrapeInterval: 1000, evaluationInterval: 1000, restartDelay: 5000 });

  // Load through the balancer on the three critical routes, about 30 requests a second.
  const service = stage.urls.service;
  const cases: string[] = [];
  let i = 0;
  load = setInterval(() => {
    const n = i++;
    const call =
      n % 3 === 0 || cases.length === 0
        ? fetch(`${service}/ingest`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ entities: [{ kind: 'person', name: `Ada ${n}` }] }),
          })
            .then((r) => r.json() as Promise<{ caseId?: string }>)
            .then((b) => void (b.caseId && cases.push(b.caseId)))
        : n % 3 === 1
          ? fetch(`${service}/resolve`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ caseId: cases[n % cases.length] }),
            }).then((r) => r.arrayBuffer())
          : fetch(`${service}/report/${cases[n % cases.length]}`).then((r) => r.arrayBuffer());
    void call.catch(() => {});
  }, 33);
}, 120_000);

afterAll(async () => {
  if (load) clearInterval(load);
  await stage?.stop();
  if (stateDir) await cleanupStaleStage(stateDir);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

describe('generated rules and dashboards on the local stage', () => {
  it('the stage Prometheus loads every generated rule and evaluates it without error', async () => {
    expect(report.ok).toBe(true);
    const rules = await until('every rule evaluated', async () => {
      const { body } = await prom<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>('/api/v1/rules');
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    });
    // 2 SLOs × (8 SLI + 7 meta recordings + 6 alerts) + 3 operational alerts; the tests/ copies are not loaded.
    expect(rules.length).toBe(45);
    expect(rules.filter((r) => r.health !== 'ok' || r.lastError)).toEqual([]);
  });

  it('every dashboard query parses, and the SLO panels return data while load runs', async () => {
    // The budget panel reads the end of a chain of recordings (5m → 30d → burn → remaining).
    await until('SLO recordings chained through for every SLO', async () => {
      const { body } = await prom<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent('slo:period_error_budget_remaining:ratio')}`);
      return body.data.result.length === report.slos.length ? true : undefined;
    });
    let checked = 0;
    for (const f of report.files.filter((x) => x.startsWith('dashboards/'))) {
      const { uid, queries } = dashboardQueries(await readFile(path.join(tmp, 'out', f), 'utf8'));
      for (const q of queries) {
        const { status, body } = await prom<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent(concretise(q.expr))}`);
        expect(status, `${uid} ${q.where}: ${body.error ?? ''}`).toBe(200);
        checked++;
        if (uid.startsWith('drillbook-slo-') && !q.where.startsWith('annotation')) {
          expect(body.data.result.length, `${uid} ${q.where} returned no data: ${q.expr}`).toBeGreaterThan(0);
        }
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('a killed replica fires GraphApiReplicaDown', async () => {
    const replicas = (await (
      await fetch(`${stage!.urls.control}/replicas`, { headers: { authorization: `Bearer ${stage!.controlToken}` } })
    ).json()) as ReplicaInfo[];
    const victim = replicas.find((r) => r.pid !== null)!;
    const killedAt = Date.now();
    process.kill(victim.pid!, 'SIGKILL');
    const firing = await until('GraphApiReplicaDown firing', async () =>
      (await alerts()).find((a) => a.labels.alertname === 'GraphApiReplicaDown' && a.state === 'firing'),
    );
    expect(firing.labels).toMatchObject({ severity: 'warning', service: 'graph-api' });
    console.info(`GraphApiReplicaDown firing ${((Date.now() - killedAt) / 1000).toFixed(1)}s after the kill`);
    await until('replica back and alert resolved', async () => ((await alerts()).some((a) => a.labels.alertname === 'GraphApiReplicaDown') ? undefined : true));
  }, 180_000);

  it('stopping the database makes the page alert GraphApiAvailability pending/firing and GraphApiDatabaseDown fire', async () => {
    expect((await alerts()).filter((a) => a.labels.alertname === 'GraphApiAvailability')).toEqual([]);
    const control = stage!.urls.control;
    // Timed from the request: /db/stop answers once PostgreSQL has shut down, and 503s start during that.
    const stoppedAt = Date.now();
    expect((await fetch(`${control}/db/stop`, { method: 'POST', headers: { authorization: `Bearer ${stage!.controlToken}` } })).status).toBe(200);
    try {
      const page = await until('page alert', async () =>
        (await alerts()).find((a) => a.labels.alertname === 'GraphApiAvailability' && a.labels.severity === 'critical' && a.labels.long_window === '1h'),
      );
      expect(['pending', 'firing']).toContain(page.state);
      expect(page.labels).toMatchObject({ sloth_severity: 'page', burn_factor: '14.4', service: 'graph-api', slo: 'availability' });
      console.info(`GraphApiAvailability (5m/1h, 14.4x) ${page.state} ${((Date.now() - stoppedAt) / 1000).toFixed(1)}s after /db/stop was sent`);
      const db = await until('GraphApiDatabaseDown firing', async () =>
        (await alerts()).find((a) => a.labels.alertname === 'GraphApiDatabaseDown' && a.state === 'firing'),
      );
      expect(db.labels.severity).toBe('critical');
      console.info(`GraphApiDatabaseDown firing ${((Date.now() - stoppedAt) / 1000).toFixed(1)}s after /db/stop was sent`);
    } finally {
      await fetch(`${control}/db/start`, { method: 'POST', headers: { authorization: `Bearer ${stage!.controlToken}` } });
    }
  }, 180_000);
});
