// The metric names a dashboard may select: what the local stage's Prometheus holds after a drill.
// Taken from the real registries where they are importable (the service's /metrics, the harness's
// /metrics) and from the rules `drill build` generates; the stage host's few gauges and
// Prometheus's own series are listed. test/build/dashboards-stage.test.ts checks the list
// against a running stage.
import { serviceMetricNames } from '@drillbook/stage';
import { FaultMetrics } from '../observe/fault-metrics.ts';
import type { RuleFile } from './rules.ts';

/** The stage host's /metrics (balancer and supervisor, packages/stage/src/host/main.ts). */
const STAGE_HOST = [
  'stage_balancer_requests_total',
  'stage_replica_restarts_total',
  'stage_replicas_desired',
  'stage_replicas_ready',
  'stage_replica_up',
  'stage_replica_ready',
];
/** Series Prometheus writes itself: alert state and per-target scrape facts. */
const PROMETHEUS = [
  'ALERTS',
  'ALERTS_FOR_STATE',
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
];

function registryNames(metrics: Array<{ name: string; type: string }>): string[] {
  const out: string[] = [];
  for (const m of metrics) {
    if (m.type !== 'histogram') out.push(m.name); // a classic histogram's series are its _bucket/_sum/_count
    if (m.type === 'histogram') out.push(`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`);
    if (m.type === 'summary') out.push(`${m.name}_sum`, `${m.name}_count`);
  }
  return out;
}

export function metricCatalogue(ruleFiles: readonly RuleFile[]): Set<string> {
  const harness = registryNames(new FaultMetrics().registry.getMetricsAsArray() as unknown as Array<{ name: string; type: string }>);
  const records = ruleFiles.flatMap((f) => f.groups.flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))));
  return new Set([...serviceMetricNames(), ...harness, ...records, ...STAGE_HOST, ...PROMETHEUS]);
}
