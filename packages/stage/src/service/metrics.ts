// Prometheus metrics of the service: requests by route/method/code, latency histogram,
// the default process metrics, and per-operation span metrics.
//
// The span metrics carry the names and labels the OpenTelemetry Collector's spanmetrics
// connector gives them once its Prometheus exporter has turned dots into underscores
// (`traces.span.metrics.calls` → `traces_span_metrics_calls_total`, `…duration` in ms →
// `traces_span_metrics_duration_milliseconds_bucket`; `service_name`, `span_name`, `span_kind`,
// `status_code` with the OTLP enum spellings): a dashboard built on them works unchanged
// against a real collector that derives them from the service's traces.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SERVICE_NAME } from './name.ts';

/** The spanmetrics connector's metric names after Prometheus translation. */
export const SPAN_METRICS = {
  calls: 'traces_span_metrics_calls_total',
  duration: 'traces_span_metrics_duration_milliseconds',
} as const;

/** OTLP's status code spelling; HTTP server spans are errors on 5xx only (4xx is the client's mistake). */
export const spanStatus = (code: number): 'STATUS_CODE_ERROR' | 'STATUS_CODE_UNSET' => (code >= 500 ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET');

/** The HTTP server span's name: `METHOD /template`, or just the method for an unmatched path (OTel HTTP semconv). */
export const spanName = (route: string, method: string): string => (route === 'unmatched' ? method : `${method} ${route}`);

export function createMetrics(replica: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: SERVICE_NAME, replica });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template, method and status code',
    labelNames: ['route', 'method', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template, method and status code',
    labelNames: ['route', 'method', 'code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const spanLabels = ['service_name', 'span_name', 'span_kind', 'status_code'] as const;
  const calls = new Counter({
    name: SPAN_METRICS.calls,
    help: 'Server spans ended, by operation and status (spanmetrics connector names)',
    labelNames: spanLabels,
    registers: [registry],
  });
  // The same boundaries as the seconds histogram, in ms: the latency SLO's 500 ms is a bucket of both.
  const spanDuration = new Histogram({
    name: SPAN_METRICS.duration,
    help: 'Server span duration in ms, by operation and status (spanmetrics connector names)',
    labelNames: spanLabels,
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [registry],
  });
  return {
    registry,
    observe(route: string, method: string, code: number, seconds: number): void {
      const labels = { route, method, code: String(code) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      const span = { service_name: SERVICE_NAME, span_name: spanName(route, method), span_kind: 'SPAN_KIND_SERVER', status_code: spanStatus(code) };
      calls.inc(span);
      spanDuration.observe(span, seconds * 1000);
    },
  };
}

export type ServiceMetrics = ReturnType<typeof createMetrics>;

/** Every series name the service's /metrics can expose (histograms as _bucket/_sum/_count), from a real registry. */
export function serviceMetricNames(): string[] {
  const names = new Set<string>();
  for (const m of createMetrics('catalogue').registry.getMetricsAsArray()) {
    const { name, type } = m as unknown as { name: string; type: string };
    // A classic histogram has no series under its own name, only _bucket/_sum/_count.
    if (type !== 'histogram') names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return [...names].sort();
}
