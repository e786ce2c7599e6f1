// Prometheus metrics of the service: requests by route/method/code, latency histogram,
// and the default process metrics.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SERVICE_NAME } from './tracing.ts';

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
  return {
    registry,
    observe(route: string, method: string, code: number, seconds: number): void {
      const labels = { route, method, code: String(code) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}

export type ServiceMetrics = ReturnType<typeof createMetrics>;
