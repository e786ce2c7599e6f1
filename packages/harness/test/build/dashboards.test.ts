// Team dashboards (dashboards/*.ts) through `drill build`: the operations dashboard as built from
// this repository, the checks every dashboard passes before it ships (promtool parses each
// expression; metric names, variables, datasource references and refIds are checked), a builder
// that throws, and `--push` against a loopback server answering Grafana's /api/dashboards/db.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDashboard, dashboardExpressions, metricNames, substitute } from '../../src/build/dashboard-checks.ts';
import { metricCatalogue } from '../../src/build/metric-catalogue.ts';
import { runBuild, type BuildReport } from '../../src/build/run.ts';
import { main } from '../../src/cli/main.ts';
import { defineDashboard } from '../../src/define/dashboard.ts';
import { coverageByOperation, FaultMetrics } from '../../src/observe/fault-metrics.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

/** A project inside the repository (so `@drillbook/harness` resolves) with the repo's alerts and runbooks. */
async function project(dashboards: Record<string, string>): Promise<string> {
  await mkdir(path.join(repoRoot, '.tmp'), { recursive: true });
  const dir = await mkdtemp(path.join(repoRoot, '.tmp', 'dashboards-'));
  temps.push(dir);
  await cp(path.join(repoRoot, 'alerts'), path.join(dir, 'alerts'), { recursive: true });
  await cp(path.join(repoRoot, 'runbooks'), path.join(dir, 'runbooks'), { recursive: true });
  await mkdir(path.join(dir, 'dashboards'));
  for (const [name, text] of Object.entries(dashboards)) await writeFile(path.join(dir, 'dashboards', name), text);
  return dir;
}

async function build(root: string, extra: string[] = [], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  try {
    const code = await main(['build', '--root', root, ...extra], { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

const HEADER = `import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { defineDashboard, panels } from '@drillbook/harness';
`;
const panelWith = (title: string, expr: string) =>
  `.withPanel(new PanelBuilder().title(${JSON.stringify(title)}).datasource(panels.datasource).gridPos({ x: 0, y: 0, w: 12, h: 8 }).withTarget(panels.query(${JSON.stringify(expr)}, '', 'A')))`;
const dashboardFile = (uid: string, title: string, panel: string) =>
  `${HEADER}export const d = defineDashboard({ uid: '${uid}', build: () => new DashboardBuilder(${JSON.stringify(title)}).uid('${uid}').withVariable(panels.datasourceVariable())${panel} });\n`;

interface OpsPanel {
  id: number;
  type: string;
  title: string;
  targets: Array<{ expr: string; format?: string; instant?: boolean }>;
  fieldConfig: { defaults: { thresholds: { steps: Array<{ value: number | null }> } } };
}
interface OpsDashboard {
  panels: OpsPanel[];
  templating: { list: Array<{ name: string; query?: string }> };
  annotations: { list: Array<{ expr?: string }> };
}

describe('the operations dashboard (dashboards/operations.ts)', () => {
  let report: BuildReport;
  let out: string;
  let d: OpsDashboard;
  beforeAll(async () => {
    await mkdir(path.join(repoRoot, '.tmp'), { recursive: true });
    out = await mkdtemp(path.join(repoRoot, '.tmp', 'ops-'));
    temps.push(out);
    report = await runBuild({ projectRoot: repoRoot, outDir: out });
    d = JSON.parse(await readFile(path.join(out, 'dashboards/drillbook-operations.json'), 'utf8'));
  });

  it('is written beside the generated dashboards, and every check passes', () => {
    expect(report.problems).toEqual([]);
    expect(report.files.filter((f) => f.startsWith('dashboards/'))).toEqual([
      'dashboards/drillbook-operations.json',
      'dashboards/drills.json',
      'dashboards/slo-graph-api.json',
    ]);
  });

  it('has an operationName variable from the span metrics, per-operation panels and the SLO thresholds', () => {
    const v = d.templating.list.find((x) => x.name === 'operationName')!;
    expect(v.query).toBe('label_values(traces_span_metrics_calls_total{service_name="graph-api",span_kind="SPAN_KIND_SERVER"}, span_name)');
    const byTitle = (start: string): OpsPanel => {
      const p = d.panels.find((x) => x.title.startsWith(start));
      if (!p) throw new Error(`no panel titled ${start}…`);
      return p;
    };
    for (const t of byTitle('Request rate').targets) expect(t.expr).toContain('span_name=~"$operationName"');
    // Availability 99.9 %: budget 0.001 (1×), page at 14.4× → 0.0144. Latency SLO: 500 ms.
    expect(byTitle('Error ratio').fieldConfig.defaults.thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([null, 0.001, 0.0144]);
    const lat = byTitle('Latency p50');
    expect(lat.fieldConfig.defaults.thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([null, 500]);
    expect(lat.targets.map((t: { expr: string }) => t.expr.slice(0, 24))).toEqual([
      'histogram_quantile(0.5, ',
      'histogram_quantile(0.95,',
      'histogram_quantile(0.99,',
    ]);
    const table = byTitle('Trace coverage by operation');
    expect(table.type).toBe('table');
    expect(table.targets[0]).toMatchObject({ expr: expect.stringContaining('drillbook_trace_coverage_ratio'), format: 'table', instant: true });
    expect(d.annotations.list.some((a: { expr?: string }) => a.expr?.includes('drillbook_fault_active'))).toBe(true);
    // Drillbook's own panels reused: burn against the alert factors, the budget, the drill results.
    expect(byTitle('availability: burn rate').fieldConfig.defaults.thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([
      null,
      1,
      3,
      6,
      14.4,
    ]);
    expect(byTitle('availability: error budget remaining')).toBeDefined();
    expect(byTitle('Probes passing').targets[0]!.expr).toContain('drillbook_probe_success');
  });

  it('ids follow build order and two builds give the same bytes', async () => {
    expect(d.panels.map((p: { id: number }) => p.id)).toEqual(d.panels.map((_: unknown, i: number) => i + 1));
    const again = await mkdtemp(path.join(repoRoot, '.tmp', 'ops-'));
    temps.push(again);
    await runBuild({ projectRoot: repoRoot, outDir: again });
    for (const f of report.files.filter((x) => x.startsWith('dashboards/'))) {
      expect((await readFile(path.join(again, f))).equals(await readFile(path.join(out, f))), f).toBe(true);
    }
  });
});

describe('checked before they ship', () => {
  it('a misspelt metric fails drill build, naming the file, dashboard, panel and expression, with the likely name; nothing is written', async () => {
    const expr = 'sum(rate(http_request_totals{service="graph-api"}[$__rate_interval]))';
    const root = await project({ 'typo.ts': dashboardFile('typo', 'Typo board', panelWith('Requests', expr)) });
    const r = await build(root);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `dashboards/typo.ts: dashboard "Typo board" panel "Requests" A: metric http_request_totals is not one the local stage exposes (expression: ${expr})`,
    );
    expect(r.err).toMatch(/fix: correct the name; known: http_requests_total/);
    expect(existsSync(path.join(root, 'out'))).toBe(false);
  });

  it('an expression promtool cannot parse fails, naming the panel and promtool’s reason', async () => {
    const expr = 'sum(rate(http_requests_total[5m])';
    const root = await project({ 'broken.ts': dashboardFile('broken', 'Broken board', panelWith('Requests', expr)) });
    const r = await build(root);
    expect(r.code).toBe(2);
    expect(r.err).toContain('dashboards/broken.ts: dashboard "Broken board" panel "Requests" A: could not parse expression');
    expect(r.err).toContain(`(expression: ${expr})`);
  });

  it('a builder that throws fails drill build with exit 2, naming the file', async () => {
    const root = await project({
      'throws.ts': `${HEADER}export const d = defineDashboard({ uid: 'throws', build: () => { throw new Error('no SLO named checkout'); } });\n`,
    });
    const r = await build(root);
    expect(r.code).toBe(2);
    expect(r.err).toContain('dashboards/throws.ts: throws.build: the dashboard builder threw: no SLO named checkout');
  });

  it('a file that exports no dashboard, and two dashboards with one uid, are named', async () => {
    const good = dashboardFile('same', 'One', panelWith('Up', 'up'));
    const root = await project({ 'a.ts': good, 'b.ts': good.replace('"One"', '"Two"'), 'c.ts': 'export const x = 1;\n' });
    const r = await build(root);
    expect(r.code).toBe(2);
    expect(r.err).toContain("dashboards/b.ts: dashboard \"Two\": uid 'same' (file same.json) is also dashboards/a.ts's");
    expect(r.err).toContain('dashboards/c.ts: (exports): exports no defineDashboard(…) value');
  });

  it('defineDashboard rejects a uid Grafana would refuse, naming field and fix', () => {
    expect(() => defineDashboard({ uid: 'has spaces', build: () => ({ build: () => ({}) }) }, 'dashboards/x.ts')).toThrow(
      /dashboards\/x\.ts: uid: expected 1–40 letters[\s\S]*fix: give the dashboard a uid/,
    );
  });

  it('fixed datasources, undefined variables and duplicate refIds are problems', () => {
    const json = JSON.stringify({
      uid: 'x',
      title: 'X',
      templating: { list: [{ name: 'datasource', type: 'datasource' }] },
      panels: [
        { title: 'Fixed', datasource: { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' }, targets: [{ refId: 'A', expr: 'up' }] },
        {
          title: 'Twice',
          datasource: { uid: '${datasource}' },
          targets: [
            { refId: 'A', expr: 'up' },
            { refId: 'A', expr: 'up{job="$job"}' },
          ],
        },
        { title: 'Not a datasource var', datasource: { uid: '${job}' }, targets: [] },
      ],
    });
    const problems = checkDashboard('dashboards/x.ts', json, new Set(['up']));
    const lines = problems.map((p) => `${p.path}: ${p.problem}`);
    expect(lines).toContain(
      'dashboard "X" panel "Fixed": datasource uid "P1809F7CD0C75ACF3" is fixed, so the dashboard works only in the Grafana it was made in',
    );
    expect(lines).toContain('dashboard "X" panel "Twice" A: refId A is used by two queries of the panel');
    expect(lines).toContain('dashboard "X" panel "Twice" A: $job is not a variable of this dashboard');
    expect(lines).toContain('dashboard "X" panel "Not a datasource var": datasource ${job} names no datasource variable');
    expect(problems.every((p) => p.fix.length > 0 && p.file === 'dashboards/x.ts')).toBe(true);
  });

  it('metric names are read from PromQL, not from functions, labels, durations or strings', () => {
    expect(
      metricNames('sum by (le) (rate(a_bucket{x="b_c"}[5m] offset 1h)) / on(job) group_left(instance) b:rec unless count without (z) (c) and {__name__="d"}'),
    ).toEqual(['a_bucket', 'b:rec', 'c', 'd']);
    expect(metricNames('histogram_quantile(0.9, sum(rate(x[1m])) by (le)) > bool 0.5 or vector(0)')).toEqual(['x']);
    expect(substitute('rate(x{op=~"$operationName",r="${route}"}[$__rate_interval])', { route: '/a' })).toBe('rate(x{op=~".*",r="/a"}[1m])');
  });

  it('every dashboard from this repository selects only catalogue metrics, and the catalogue holds the span metrics and the harness gauges', async () => {
    const known = metricCatalogue([]);
    for (const m of [
      'traces_span_metrics_calls_total',
      'traces_span_metrics_duration_milliseconds_bucket',
      'drillbook_fault_active',
      'drillbook_probe_success',
      'drillbook_trace_coverage_ratio',
      'ALERTS',
    ])
      expect(known.has(m), m).toBe(true);
    expect(known.has('http_request_duration_seconds')).toBe(false); // a histogram has no series of its own name
    const ops = await readFile(path.join(repoRoot, 'dashboards/operations.ts'), 'utf8');
    expect(ops).toContain("defineDashboard({\n  uid: 'drillbook-operations'");
    const json = JSON.stringify({ uid: 'u', panels: [{ title: 'p', targets: [{ refId: 'A', expr: 'rate(traces_span_metrics_calls_total[1m])' }] }] });
    expect(dashboardExpressions(json).expressions).toEqual([
      { where: 'panel "p" A', expr: 'rate(traces_span_metrics_calls_total[1m])', concrete: 'rate(traces_span_metrics_calls_total[1m])' },
    ]);
  });
});

describe('per-operation trace coverage on the harness /metrics', () => {
  const span = (traceId: string, spanId: string, parentSpanId: string, name: string) =>
    ({ traceId, spanId, parentSpanId, name, service: 'graph-api', startMs: 0, endMs: 1, statusCode: 0 }) as never;
  const req = (traceId: string, op: string) => ({ path: `j/${op}`, traceId, clientSpanId: `c-${traceId}`, expectedSpans: [op], services: ['graph-api'] });

  it('groups the critical requests by their server span and takes each group’s coverage', async () => {
    const traces: Record<string, unknown[]> = { t1: [span('t1', 's1', 'c-t1', 'POST /ingest')], t2: [], t3: [span('t3', 's3', 'c-t3', 'GET /report/:id')] };
    const requests = [req('t1', 'POST /ingest'), req('t2', 'POST /ingest'), req('t3', 'GET /report/:id')];
    expect([...coverageByOperation(requests, (id) => traces[id] as never)]).toEqual([
      ['GET /report/:id', 1],
      ['POST /ingest', 0.5],
    ]);
    const m = new FaultMetrics();
    m.setTraceCoverage('nightly', requests, (id) => traces[id] as never);
    m.observe({ t: 1, kind: 'probe', probe: 'ready', ok: true, started: 0 }, { drill: 'nightly', runId: 'r' });
    const text = await m.text();
    expect(text).toContain('drillbook_trace_coverage_ratio{drill="nightly",span_name="POST /ingest"} 0.5');
    expect(text).toContain('drillbook_probe_success{drill="nightly",probe="ready"} 1');
    // A journey's steps share one trace: each step's server span hangs off its own client span,
    // and a step is complete only with the others' client spans in view (no orphans).
    const shared = { t9: [span('t9', 'a', 'c-ingest', 'POST /ingest'), span('t9', 'b', 'c-report', 'GET /report/:id')] };
    const steps = [
      { path: 'j/ingest', traceId: 't9', clientSpanId: 'c-ingest', expectedSpans: ['POST /ingest'], services: ['graph-api'] },
      { path: 'j/report', traceId: 't9', clientSpanId: 'c-report', expectedSpans: ['GET /report/:id'], services: ['graph-api'] },
    ];
    expect([...coverageByOperation(steps, (id) => shared[id as 't9'] as never)]).toEqual([
      ['GET /report/:id', 1],
      ['POST /ingest', 1],
    ]);
    // The next drill replaces the figures: an operation it did not sample is gone.
    m.setTraceCoverage('other', [req('t1', 'POST /ingest')], (id) => traces[id] as never);
    expect(await m.text()).not.toContain('GET /report/:id');
  });
});

describe('drill build --push', () => {
  let server: Server;
  let url: string;
  type Posted = { dashboard: { uid: string; id?: unknown; panels?: unknown }; overwrite?: boolean; message?: string };
  const received: Array<{ auth: string | undefined; path: string; body: Posted }> = [];
  let refuse = false;
  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Posted;
      received.push({ auth: req.headers.authorization, path: `${req.method} ${req.url}`, body });
      res.setHeader('content-type', 'application/json');
      if (refuse || req.headers.authorization !== 'Bearer glsa_test_token') {
        res.statusCode = 401;
        res.end(JSON.stringify({ message: 'invalid API key' }));
        return;
      }
      const uid = body.dashboard.uid as string;
      // Grafana's documented success body for POST /api/dashboards/db.
      res.end(JSON.stringify({ id: received.length, uid, url: `/d/${uid}/${uid}`, status: 'success', version: 1, slug: uid }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('posts every dashboard with the bearer token from $GRAFANA_TOKEN, overwrite on, ids left to Grafana', async () => {
    const root = await project({});
    received.length = 0;
    const r = await build(root, ['--push', url], { GRAFANA_TOKEN: 'glsa_test_token' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(received.map((x) => x.path)).toEqual(['POST /api/dashboards/db', 'POST /api/dashboards/db']);
    expect(received.map((x) => x.body.dashboard.uid)).toEqual(['drillbook-drills', 'drillbook-slo-graph-api']);
    for (const x of received) {
      expect(x.auth).toBe('Bearer glsa_test_token');
      expect(x.body).toMatchObject({ overwrite: true, message: 'drill build', dashboard: { id: null } });
    }
    const written = JSON.parse(await readFile(path.join(root, 'out/dashboards/drills.json'), 'utf8'));
    expect(received[0]!.body.dashboard.panels).toEqual(written.panels);
    expect(r.out).toContain('pushed dashboards/drills.json → /d/drillbook-drills/drillbook-drills (version 1)');
    expect(r.out).not.toContain('glsa_test_token');
  });

  it('without $GRAFANA_TOKEN it exits 2 before building; a refused token exits 4 naming the status and the fix', async () => {
    const root = await project({});
    const missing = await build(root, ['--push', url], { GRAFANA_TOKEN: undefined });
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--push needs a Grafana service account token in $GRAFANA_TOKEN');
    expect(existsSync(path.join(root, 'out'))).toBe(false);
    refuse = true;
    try {
      const refused = await build(root, ['--push', url], { GRAFANA_TOKEN: 'glsa_wrong' });
      expect(refused.code).toBe(4);
      expect(refused.err).toContain('--push: Grafana refused dashboards/drills.json (uid drillbook-drills): HTTP 401 invalid API key; check $GRAFANA_TOKEN');
    } finally {
      refuse = false;
    }
  });
});
