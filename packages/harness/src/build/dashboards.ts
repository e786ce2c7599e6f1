// Grafana dashboards from the SLO definitions, built with the Grafana Foundation SDK.
// Pure: definitions in, dashboard JSON text out (fixed panel ids and positions).
//
// Drill events are drawn from a Prometheus annotation on `drillbook_fault_active`
// (a gauge the harness exposes, 1 while a fault is in, labels drill/phase/fault):
// it needs no Grafana annotation API and the same series lands in Prometheus,
// which the evidence pack already reads, so the picture and the figures agree.
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  AnnotationQueryBuilder,
  ThresholdsMode,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import type { SloDefinition } from '../define/slo.ts';
import { MATCH_SLO, RECORD, burnThreshold, errorBudget, multiWindowPairs, pageFactors, sloIdSelector, windowMs } from '../slo/conventions.ts';
import { num } from './rules.ts';
import { substitute } from './dashboard-checks.ts';

/** The Prometheus datasource, always by variable: the same JSON imports into any Grafana. */
export const DS = { type: 'prometheus', uid: '${datasource}' };

/** A panel's place on the 24-column grid. */
export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DashboardFile {
  /** File name under out/dashboards. */
  file: string;
  uid: string;
  json: string;
}

/** Every PromQL expression a dashboard holds (panels, annotations, variables), for checking against Prometheus. */
export interface DashboardQueries {
  uid: string;
  queries: Array<{ where: string; expr: string }>;
}

/** A Prometheus query on the `$datasource` variable. */
export function q(expr: string, legend: string, refId: string): DataqueryBuilder {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).datasource(DS);
}

function timeseries(title: string, unit: string, y: number, x: number, w: number, targets: DataqueryBuilder[]): TimeseriesPanelBuilder {
  const p = new TimeseriesPanelBuilder().title(title).unit(unit).datasource(DS).gridPos({ x, y, w, h: 8 });
  for (const t of targets) p.withTarget(t);
  return p;
}

/** Drill faults as a Prometheus annotation on `drillbook_fault_active` (the harness's /metrics). */
export const faultAnnotation = () =>
  new AnnotationQueryBuilder()
    .name('Drill faults')
    .datasource(DS)
    .enable(true)
    .iconColor('red')
    .expr('max by (drill, phase, fault) (drillbook_fault_active) > 0')
    .titleFormat('{{drill}}: {{fault}}')
    .textFormat('phase {{phase}}')
    .tagKeys('drill,phase,fault')
    .step('1s');

/** The `datasource` variable every Drillbook query points at. */
export const datasourceVariable = () => new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus');

/** Burn-rate panel: one series per alert window, the alert factors as dashed threshold lines. */
export function sloBurnPanel(slo: SloDefinition, pos: GridPos): TimeseriesPanelBuilder {
  const sel = sloIdSelector(slo);
  const pairs = multiWindowPairs(slo.period);
  // Both windows of the page pairs and the long ones of the ticket pairs (5m, 30m, 1h, 6h, 1d, 3d):
  // a ticket pair's short window only confirms its long one, and seven lines crowd the panel.
  const windows = [...new Set(pairs.flatMap((p) => (p.slothSeverity === 'page' ? [p.short, p.long] : [p.long])))].sort((a, b) => windowMs(a) - windowMs(b));
  const factors = [...new Set(pairs.map((p) => p.factor))].sort((a, b) => a - b);
  const colors = ['yellow', 'orange', 'red', 'dark-red'];
  return timeseries(
    `${slo.name}: burn rate (alert factors ${factors.map(num).join(', ')}x)`,
    'x',
    pos.y,
    pos.x,
    pos.w,
    windows.map((w, i) => q(`${RECORD.sliErrorRatio(w)}${sel} / ${MATCH_SLO} ${RECORD.errorBudget}${sel}`, `${w}`, String.fromCharCode(65 + i))),
  )
    .gridPos(pos)
    .thresholds(
      new ThresholdsConfigBuilder()
        .mode(ThresholdsMode.Absolute)
        .steps([{ value: null, color: 'green' }, ...factors.map((f, i) => ({ value: f, color: colors[i % colors.length]! }))]),
    )
    .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
}

/** Error budget remaining over the SLO's period, red below 25 %. */
export function errorBudgetPanel(slo: SloDefinition, pos: GridPos): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(`${slo.name}: error budget remaining (${slo.periodDays}d)`)
    .unit('percentunit')
    .datasource(DS)
    .gridPos(pos)
    .withTarget(q(`${RECORD.periodBudgetRemaining}${sloIdSelector(slo)}`, 'remaining', 'A'))
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: 'red' },
        { value: 0.25, color: 'orange' },
        { value: 0.5, color: 'green' },
      ]),
    );
}

function sliPanel(slo: SloDefinition, y: number): TimeseriesPanelBuilder {
  const sel = sloIdSelector(slo);
  return timeseries(`${slo.name}: SLI error ratio (objective ${num(slo.objective * 100)}%)`, 'percentunit', y, 18, 6, [
    q(`${RECORD.sliErrorRatio('5m')}${sel}`, 'error ratio 5m', 'A'),
    q(`${RECORD.errorBudget}${sel}`, 'error budget', 'B'),
  ]);
}

/** One SLO dashboard per service: its SLOs' burn and budget, then traffic by route. */
export function sloDashboard(service: string, slos: SloDefinition[]): DashboardFile {
  const uid = `drillbook-slo-${service}`;
  const sorted = [...slos].sort((a, b) => (a.name < b.name ? -1 : 1));
  const routeSel = `service="${service}",route=~"$route"`;
  const d = new DashboardBuilder(`${service}: SLOs`)
    .uid(uid)
    .tags(['drillbook', 'slo', service])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('utc')
    .withVariable(datasourceVariable())
    .withVariable(
      new QueryVariableBuilder('route')
        .label('Route')
        .datasource(DS)
        .query(`label_values(http_requests_total{service="${service}"}, route)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .multi(true)
        .allValue('.*'),
    )
    .annotation(faultAnnotation());
  let y = 0;
  for (const slo of sorted) {
    d.withRow(new RowBuilder(`SLO ${slo.id}`).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    d.withPanel(sloBurnPanel(slo, { x: 0, y, w: 12, h: 8 }))
      .withPanel(errorBudgetPanel(slo, { x: 12, y, w: 6, h: 8 }))
      .withPanel(sliPanel(slo, y));
    y += 8;
  }
  d.withRow(new RowBuilder('Traffic ($route)').gridPos({ x: 0, y, w: 24, h: 1 }));
  y += 1;
  d.withPanel(timeseries('Request rate', 'reqps', y, 0, 8, [q(`sum by (route) (rate(http_requests_total{${routeSel}}[$__rate_interval]))`, '{{route}}', 'A')]));
  d.withPanel(
    timeseries('Error ratio (5xx)', 'percentunit', y, 8, 8, [
      // `or … * 0`: a route with no 5xx yet reads 0, not a gap.
      q(
        `(sum by (route) (rate(http_requests_total{${routeSel},code=~"5.."}[$__rate_interval])) or sum by (route) (rate(http_requests_total{${routeSel}}[$__rate_interval])) * 0) / sum by (route) (rate(http_requests_total{${routeSel}}[$__rate_interval]))`,
        '{{route}}',
        'A',
      ),
    ]),
  );
  d.withPanel(
    timeseries('Latency p50 / p95', 's', y, 16, 8, [
      q(`histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{${routeSel}}[$__rate_interval])))`, 'p50', 'A'),
      q(`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${routeSel}}[$__rate_interval])))`, 'p95', 'B'),
    ]),
  );
  return finish(uid, `slo-${service}.json`, d);
}

/** The drill dashboard: faults, alerts, replicas, probes and load during a drill. */
export function drillDashboard(): DashboardFile {
  const uid = 'drillbook-drills';
  const d = new DashboardBuilder('Drillbook: drills')
    .uid(uid)
    .tags(['drillbook', 'drill'])
    .refresh('5s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('utc')
    .withVariable(datasourceVariable())
    .annotation(faultAnnotation())
    .withPanel(
      timeseries('Faults active', 'none', 0, 0, 12, [q('max by (drill, phase, fault) (drillbook_fault_active)', '{{drill}} {{phase}} {{fault}}', 'A')]),
    )
    .withPanel(
      timeseries('Alerts firing', 'none', 0, 12, 12, [q('count by (alertname, severity) (ALERTS{alertstate="firing"})', '{{alertname}} ({{severity}})', 'A')]),
    )
    .withPanel(
      timeseries('Replicas ready / desired', 'none', 8, 0, 12, [
        q('sum(stage_replicas_ready)', 'ready', 'A'),
        q('sum(stage_replicas_desired)', 'desired', 'B'),
        q('sum(increase(stage_replica_restarts_total[1m]))', 'restarts / 1m', 'C'),
      ]),
    )
    .withPanel(drillResultsPanel({ x: 12, y: 8, w: 12, h: 8 }))
    .withPanel(
      timeseries('Load: request rate by code', 'reqps', 16, 0, 12, [q('sum by (code) (rate(http_requests_total[$__rate_interval]))', '{{code}}', 'A')]),
    )
    .withPanel(
      timeseries('Load: latency p95', 's', 16, 12, 12, [
        q('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[$__rate_interval])))', 'p95', 'A'),
      ]),
    );
  return finish(uid, 'drills.json', d);
}

/** Drill results: each probe's latest pass (1) or fail (0), by drill (`drillbook_probe_success`). */
export function drillResultsPanel(pos: GridPos): TimeseriesPanelBuilder {
  return timeseries('Probes passing', 'percentunit', pos.y, pos.x, pos.w, [
    q('avg by (drill, probe) (drillbook_probe_success)', '{{drill}} {{probe}}', 'A'),
  ]).gridPos(pos);
}

/**
 * Thresholds for an error-ratio panel from an SLO: orange at the error budget (1 − objective, a burn
 * of 1×), red at the fastest page alert's factor × budget (14.4× for 30 days): where it pages.
 */
export function errorRatioThresholds(slo: SloDefinition): ThresholdsConfigBuilder {
  const page = pageFactors(slo.period)[0]!;
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: errorBudget(slo), color: 'orange' },
    { value: burnThreshold(page, slo), color: 'red' },
  ]);
}

/** Thresholds for a latency panel from a latency SLO: red above its threshold, in `unit` ('s' or 'ms'). */
export function latencyThresholds(slo: SloDefinition, unit: 's' | 'ms'): ThresholdsConfigBuilder {
  if (slo.sli.kind !== 'latency') throw new Error(`SLO ${slo.id} is not a latency SLO (its SLI is a ratio), so it has no latency threshold`);
  const t = unit === 'ms' ? Number((slo.sli.thresholdSeconds * 1000).toFixed(6)) : slo.sli.thresholdSeconds;
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: t, color: 'red' },
  ]);
}

function finish(uid: string, file: string, d: DashboardBuilder): DashboardFile {
  return { file, uid, json: dashboardJson(d.build()) };
}

/** Dashboard JSON text with panel ids in build order, so the same input gives the same bytes. */
export function dashboardJson(built: { panels?: unknown[] }): string {
  let id = 1;
  for (const p of built.panels ?? []) (p as { id?: number }).id = id++;
  return `${JSON.stringify(built, null, 2)}\n`;
}

/** Pulls every PromQL expression out of dashboard JSON (panels, annotations, query variables). */
export function dashboardQueries(json: string): DashboardQueries {
  const d = JSON.parse(json) as {
    uid: string;
    panels?: Array<{ title?: string; targets?: Array<{ expr?: string; refId?: string }> }>;
    annotations?: { list?: Array<{ name?: string; expr?: string }> };
    templating?: { list?: Array<{ name?: string; type?: string; query?: unknown }> };
  };
  const queries: DashboardQueries['queries'] = [];
  for (const p of d.panels ?? [])
    for (const t of p.targets ?? []) if (t.expr) queries.push({ where: `panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: t.expr });
  for (const a of d.annotations?.list ?? []) if (a.expr) queries.push({ where: `annotation "${a.name}"`, expr: a.expr });
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query' && typeof v.query === 'string') {
      const m = /^label_values\((.*),\s*([a-zA-Z_]\w*)\)$/.exec(v.query);
      queries.push({ where: `variable $${v.name}`, expr: m ? m[1]! : v.query });
    }
  }
  return { uid: d.uid, queries };
}

/** Replaces Grafana's variables with concrete values so Prometheus can parse the query. */
export function concretise(expr: string, vars: Record<string, string> = {}): string {
  return substitute(expr, vars);
}
