// No panel without data: every dashboard `drill build` writes (generated and dashboards/*.ts) is
// queried on the real local stage after a short drill of our own — the critical journey as the
// steady-state probe (its traces to the harness's OTLP receiver, their coverage per operation set
// on the harness's /metrics as the run pipeline does), a replica killed as the fault
// (drillbook_fault_active, GraphApiReplicaDown firing), load on the critical routes throughout.
// Each panel, annotation and variable expression, with its variables substituted, must return
// series over the drill's window from the stage's Prometheus, which scrapes the harness.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader, cleanupStaleStage, startStage, type ReplicaInfo, type Stage } from '@drillbook/stage';
import journey from '../../../../synthetics/ingest-resolve-report.ts';
import { dashboardExpressions } from '../../src/build/dashboard-checks.ts';
import { runBuild, type BuildReport } from '../../src/build/run.ts';
import { traceCoverage, type CoverageRequest } from '../../src/measure/coverage.ts';
import { FaultMetrics } from '../../src/observe/fault-metrics.ts';
import { otlpTraceHandler } from '../../src/observe/otlp-receiver.ts';
import { PrometheusClient } from '../../src/observe/prometheus.ts';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { settleSpans, TraceStore } from '../../src/observe/trace-store.ts';
import { runJourney } from '../../src/synthetics/run-journey.ts';
import { until } from '../support/until.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DRILL = { drill: 'dashboards-check', runId: 'run-dashboards-check' };
let tmp: string;
let stateDir: string;
let report: BuildReport;
let stage: Stage | undefined;
let prom: PrometheusClient;
let load: NodeJS.Timeout | undefined;
let drillStart = 0;
const traces = new TraceStore({ protectedServices: ['graph-api'] });
const metrics = new FaultMetrics();
const telemetry = new TelemetryServer()
  .route('/v1/traces', otlpTraceHandler(traces))
  .get('/metrics', async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.text() }));

const control = (p: string, method = 'GET') => fetch(`${stage!.urls.control}${p}`, { method, headers: { authorization: `Bearer ${stage!.controlToken}` } });
const firing = async (alertname: string) => (await prom.query(`ALERTS{alertname="${alertname}",alertstate="firing"}`)).length > 0;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'drillbook-dashboards-stage-'));
  await chmod(tmp, 0o755); // PostgreSQL (its own user) reaches the WAL archive below this dir
  stateDir = path.join(tmp, 'stage');
  report = await runBuild({ projectRoot: repoRoot, outDir: path.join(tmp, 'out') });
  const telemetryUrl = await telemetry.listen();
  stage = await startStage({
    replicas: 2,
    stateDir,
    rulesDir: path.join(tmp, 'out/alerts'),
    scrapeInterval: 1000,
    evaluationInterval: 1000,
    // Long enough for GraphApiReplicaDown (for: 5s) to fire before the supervisor restarts the replica.
    restartDelay: 8000,
    otlpTracesUrl: `${telemetryUrl}/v1/traces`,
    otlpHeaders: { authorization: `Bearer ${telemetry.otlpToken}` },
    extraScrapeTargets: [{ job: 'drillbook', target: new URL(telemetryUrl).host }],
  });
  prom = new PrometheusClient(stage.urls.prometheus, 10_000, stage.auth.prometheus);

  // Load through the balancer on the three critical routes, about 15 requests a second.
  const service = stage.urls.service;
  const cases: string[] = [];
  let i = 0;
  load = setInterval(() => {
    const n = i++;
    const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
    const call =
      n % 3 === 0 || cases.length === 0
        ? fetch(`${service}/ingest`, { ...json, body: JSON.stringify({ entities: [{ kind: 'person', name: `Ada ${n}` }] }) })
            .then((r) => r.json() as Promise<{ caseId?: string }>)
            .then((b) => void (b.caseId && cases.push(b.caseId)))
        : n % 3 === 1
          ? fetch(`${service}/resolve`, { ...json, body: JSON.stringify({ caseId: cases[n % cases.length] }) }).then((r) => r.arrayBuffer())
          : fetch(`${service}/report/${cases[n % cases.length]}`).then((r) => r.arrayBuffer());
    void call.catch(() => {});
  }, 66);

  // The short drill: the journey is the steady-state probe, a replica kill the fault.
  drillStart = Date.now();
  const requests: CoverageRequest[] = [];
  const probe = async () => {
    const r = await runJourney(journey, { baseUrl: service, runId: DRILL.runId });
    for (const c of r.coverage) requests.push(c);
    metrics.observe({ t: Date.now(), kind: 'probe', probe: journey.name, ok: r.ok, started: Date.now() }, DRILL);
  };
  for (let k = 0; k < 3; k++) await probe();
  const replicas = (await (await control('/replicas')).json()) as ReplicaInfo[];
  const victim = replicas.find((r) => r.pid !== null)!;
  metrics.observe(
    { t: Date.now(), kind: 'fault.injecting', faultId: 'f1', phase: 'replica-loss', provider: 'local-process', fault: { kind: 'pod-kill', target: 'api' } },
    DRILL,
  );
  process.kill(victim.pid!, 'SIGKILL');
  metrics.observe({ t: Date.now(), kind: 'fault.injected', faultId: 'f1', targets: [victim.name] }, DRILL);
  await until('GraphApiReplicaDown firing', async () => ((await firing('GraphApiReplicaDown')) ? true : undefined));
  await probe();
  await until('the replica back', async () => ((await (await control('/replicas')).json()) as ReplicaInfo[]).every((r) => r.pid !== null) || undefined);
  metrics.observe({ t: Date.now(), kind: 'fault.reverted', faultId: 'f1' }, DRILL);
  for (let k = 0; k < 3; k++) await probe();
  // As the run pipeline does once the journeys' spans have settled (session/run/execute.ts).
  await settleSpans(traces, () => traceCoverage(requests, (id) => traces.trace(id)).value === 1);
  metrics.setTraceCoverage(DRILL.drill, requests, (id) => traces.trace(id));
  // Visible to a range query ending now (the next evaluation step after the scrape), as a dashboard draws it.
  await until('coverage in a range query', async () => ((await seriesOver('drillbook_trace_coverage_ratio')).length >= 3 ? true : undefined));
  // The budget panel reads the end of a chain of recordings (5m → 30d → burn → remaining).
  await until('SLO recordings chained through', async () =>
    (await prom.query('slo:period_error_budget_remaining:ratio')).length === report.slos.length ? true : undefined,
  );
}, 300_000);

afterAll(async () => {
  if (load) clearInterval(load);
  await stage?.stop();
  await telemetry.close();
  if (stateDir) await cleanupStaleStage(stateDir);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** Series the expression returns from the drill's start until now (a dashboard's "last N minutes" after the drill). */
const seriesOver = async (expr: string) => (await prom.queryRange(expr, drillStart, Date.now(), 1000)).filter((s) => s.values.length > 0);

describe('every dashboard on the stage after a drill', () => {
  it('the span metrics name the operations the journey walked, as operationName offers them', async () => {
    expect(report.ok).toBe(true);
    const match = 'traces_span_metrics_calls_total{service_name="graph-api",span_kind="SPAN_KIND_SERVER"}';
    const res = await fetch(`${stage!.urls.prometheus}/api/v1/label/span_name/values?match[]=${encodeURIComponent(match)}`, {
      headers: { authorization: basicAuthHeader(stage!.auth.prometheus) },
    });
    const names = ((await res.json()) as { data: string[] }).data;
    expect(names).toEqual(expect.arrayContaining(['POST /ingest', 'POST /resolve', 'GET /report/:id']));
    const coverage = await prom.query('drillbook_trace_coverage_ratio{drill="dashboards-check"}');
    expect(coverage.map((s) => s.metric.span_name).sort()).toEqual(['GET /report/:id', 'POST /ingest', 'POST /resolve']);
    for (const s of coverage) expect(s.value, s.metric.span_name).toBeGreaterThan(0);
  });

  it('every panel, annotation and variable query of every dashboard returns data', async () => {
    const files = report.files.filter((f) => f.startsWith('dashboards/'));
    expect(files).toEqual(['dashboards/drillbook-operations.json', 'dashboards/drills.json', 'dashboards/slo-graph-api.json']);
    const empty: string[] = [];
    let checked = 0;
    for (const f of files) {
      const { title, expressions } = dashboardExpressions(await readFile(path.join(tmp, 'out', f), 'utf8'));
      for (const e of expressions) {
        checked++;
        if ((await seriesOver(e.concrete)).length === 0) empty.push(`${title} ${e.where}: ${e.concrete}`);
      }
    }
    expect(empty).toEqual([]);
    expect(checked).toBeGreaterThan(35);
  });

  it('the operations panels return data for each single operation chosen', async () => {
    const { expressions } = dashboardExpressions(await readFile(path.join(tmp, 'out/dashboards/drillbook-operations.json'), 'utf8'));
    const perOperation = expressions.filter((e) => e.expr.includes('$operationName'));
    expect(perOperation.length).toBeGreaterThanOrEqual(6);
    const empty: string[] = [];
    for (const op of ['POST /ingest', 'POST /resolve', 'GET /report/:id']) {
      const chosen = dashboardExpressions(await readFile(path.join(tmp, 'out/dashboards/drillbook-operations.json'), 'utf8'), {
        operationName: op,
      }).expressions;
      for (const e of chosen.filter((x) => x.expr.includes('$operationName'))) if ((await seriesOver(e.concrete)).length === 0) empty.push(`${op}: ${e.where}`);
    }
    expect(empty).toEqual([]);
  });
});
