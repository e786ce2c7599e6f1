// The stage service's SLOs: availability and latency of its critical routes, the
// routes the nightly journey walks (ingest → resolve → report).
import { defineSlo } from '@drillbook/harness';

/** The critical routes, as the service labels them (`route` label, path templates). */
export const CRITICAL_ROUTES = '/ingest|/resolve|/report/:id';

export const availability = defineSlo({
  service: 'graph-api',
  name: 'availability',
  description: 'Share of requests to the critical routes answered without a 5xx',
  objective: 99.9,
  period: '30d',
  sli: {
    // `or vector(0)`: before the first 5xx there is no 5xx series, and the ratio must read 0, not empty.
    errors: `sum(rate(http_requests_total{service="graph-api",route=~"${CRITICAL_ROUTES}",code=~"5.."}[{{window}}])) or vector(0)`,
    total: `sum(rate(http_requests_total{service="graph-api",route=~"${CRITICAL_ROUTES}"}[{{window}}]))`,
  },
  alerting: { name: 'GraphApiAvailability', runbook: 'runbooks/graph-api-availability.md', labels: { team: 'graph' } },
});

export const latency = defineSlo({
  service: 'graph-api',
  name: 'latency',
  description: 'Share of requests to the critical routes answered within 500 ms',
  objective: 99,
  period: '30d',
  sli: {
    latency: {
      metric: 'http_request_duration_seconds',
      threshold: '500ms',
      selector: `service="graph-api",route=~"${CRITICAL_ROUTES}"`,
    },
  },
  alerting: { name: 'GraphApiLatency', runbook: 'runbooks/graph-api-latency.md', labels: { team: 'graph' } },
});
