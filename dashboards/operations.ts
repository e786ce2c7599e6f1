// graph-api by operation: the seeds' view "with an `operationName` variable and SLO thresholds".
// Traffic, errors and latency per operation read the span metrics (named as the OpenTelemetry
// Collector's spanmetrics connector names them, so the same dashboard works behind a collector);
// the thresholds come from the SLOs in alerts/; drill faults shade every panel; the table shows
// each operation's trace coverage from the last drill, which the nightly drill gates.
import {
  DashboardBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { defineDashboard, panels } from '@drillbook/harness';
import { availability, latency } from '../alerts/graph-api.slo.ts';
import nightly from '../drills/nightly.ts';

const service = availability.service;
/** The service's server spans, one per operation (`span_name` is `METHOD /route`). */
const spans = `service_name="${service}",span_kind="SPAN_KIND_SERVER",span_name=~"$operationName"`;
const calls = (extra = '') => `traces_span_metrics_calls_total{${spans}${extra}}`;
const rate = (extra = '') => `sum by (span_name) (rate(${calls(extra)}[$__rate_interval]))`;
const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (le, span_name) (rate(traces_span_metrics_duration_milliseconds_bucket{${spans}}[$__rate_interval])))`;
/** What the nightly drill requires of trace coverage: below it the table cell turns red. */
const coverageMin = nightly.plan.checks?.traceCoverage?.min ?? 1;

const dashed = () => new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed);

export const operations = defineDashboard({
  uid: 'drillbook-operations',
  build: () =>
    new DashboardBuilder(`${service}: operations`)
      .uid('drillbook-operations')
      .tags(['drillbook', 'operations', service])
      .refresh('10s')
      .time({ from: 'now-1h', to: 'now' })
      .timezone('utc')
      .withVariable(panels.datasourceVariable())
      .withVariable(
        new QueryVariableBuilder('operationName')
          .label('Operation')
          .datasource(panels.datasource)
          .query(`label_values(traces_span_metrics_calls_total{service_name="${service}",span_kind="SPAN_KIND_SERVER"}, span_name)`)
          .refresh(VariableRefresh.OnTimeRangeChanged)
          .includeAll(true)
          .multi(true)
          .allValue('.*'),
      )
      .annotation(panels.faultAnnotation())
      .withRow(new RowBuilder('Per operation ($operationName)').gridPos({ x: 0, y: 0, w: 24, h: 1 }))
      .withPanel(
        new TimeseriesPanelBuilder()
          .title('Request rate')
          .unit('reqps')
          .datasource(panels.datasource)
          .gridPos({ x: 0, y: 1, w: 8, h: 8 })
          .withTarget(panels.query(rate(), '{{span_name}}', 'A')),
      )
      .withPanel(
        new TimeseriesPanelBuilder()
          .title(`Error ratio (orange: ${availability.name} budget, red: fastest page burn)`)
          .unit('percentunit')
          .datasource(panels.datasource)
          .gridPos({ x: 8, y: 1, w: 8, h: 8 })
          // `or … * 0`: an operation without errors yet reads 0, not a gap.
          .withTarget(panels.query(`(${rate(',status_code="STATUS_CODE_ERROR"')} or ${rate()} * 0) / ${rate()}`, '{{span_name}}', 'A'))
          .thresholds(panels.errorRatioThresholds(availability))
          .thresholdsStyle(dashed()),
      )
      .withPanel(
        new TimeseriesPanelBuilder()
          .title(`Latency p50 / p95 / p99 (red: ${latency.name} SLO threshold)`)
          .unit('ms')
          .datasource(panels.datasource)
          .gridPos({ x: 16, y: 1, w: 8, h: 8 })
          .withTarget(panels.query(quantile(0.5), 'p50 {{span_name}}', 'A'))
          .withTarget(panels.query(quantile(0.95), 'p95 {{span_name}}', 'B'))
          .withTarget(panels.query(quantile(0.99), 'p99 {{span_name}}', 'C'))
          .thresholds(panels.latencyThresholds(latency, 'ms'))
          .thresholdsStyle(dashed()),
      )
      .withRow(new RowBuilder('SLOs and the last drill').gridPos({ x: 0, y: 9, w: 24, h: 1 }))
      .withPanel(panels.sloBurn(availability, { x: 0, y: 10, w: 12, h: 8 }))
      .withPanel(panels.errorBudget(availability, { x: 12, y: 10, w: 4, h: 8 }))
      .withPanel(
        new TablePanelBuilder()
          .title(`Trace coverage by operation, last drill (gate ≥ ${coverageMin * 100} %)`)
          .unit('percentunit')
          .datasource(panels.datasource)
          .gridPos({ x: 16, y: 10, w: 8, h: 8 })
          .withTarget(
            panels
              .query(`max by (span_name, drill) (drillbook_trace_coverage_ratio{span_name=~"$operationName"})`, '', 'A')
              .instant()
              .format(PromQueryFormat.Table),
          )
          .thresholds(
            new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
              { value: null, color: 'red' },
              { value: coverageMin, color: 'green' },
            ]),
          ),
      )
      .withPanel(panels.drillResults({ x: 0, y: 18, w: 24, h: 8 })),
});
