// Operational alerts of the stage service: fast signals the drills expect within
// seconds (the stage scrapes every second), beside the slower SLO burn-rate alerts.
import { defineAlert } from '@drillbook/harness';

export const replicaDown = defineAlert({
  name: 'GraphApiReplicaDown',
  service: 'graph-api',
  // Ready below desired: a replica was killed, is restarting or fails readiness.
  expr: '(sum(stage_replicas_desired) - sum(stage_replicas_ready)) > 0',
  for: '5s',
  severity: 'warning',
  summary: 'graph-api is running with fewer ready replicas than desired',
  description:
    'At least one graph-api replica has not been ready for 5s. The balancer routes around it; capacity is reduced until the supervisor brings it back.',
  runbook: 'runbooks/graph-api-replica-down.md',
  labels: { team: 'graph' },
  examples: [
    {
      name: 'one of two replicas not ready for 21s',
      interval: '1s',
      series: { stage_replicas_desired: '2x61', stage_replicas_ready: '2x10 1x20 2x29' },
      quietAt: ['5s', '13s', '45s'],
      firingAt: ['20s', '30s'],
    },
  ],
});

export const databaseDown = defineAlert({
  name: 'GraphApiDatabaseDown',
  service: 'graph-api',
  // The service answers 5xx when PostgreSQL is unreachable; most requests failing is that signature.
  expr: `(
  sum(rate(http_requests_total{service="graph-api",code=~"5.."}[15s]))
/
  sum(rate(http_requests_total{service="graph-api"}[15s]))
) > 0.5`,
  for: '5s',
  severity: 'critical',
  summary: 'graph-api fails most requests: its database is probably down',
  description:
    'More than half of graph-api requests over the last 15s ended in a 5xx, for 5s. On graph-api this is the signature of a PostgreSQL outage or a lost connection pool.',
  runbook: 'runbooks/graph-api-database-down.md',
  labels: { team: 'graph' },
  examples: [
    {
      name: 'database lost at 30s',
      interval: '1s',
      series: {
        'http_requests_total{service="graph-api",route="/resolve",method="POST",code="200"}': '0+10x30 300x30',
        'http_requests_total{service="graph-api",route="/resolve",method="POST",code="503"}': '0x30 0+10x30',
      },
      quietAt: ['20s', '35s'],
      firingAt: ['50s'],
    },
  ],
});

export const routeFailing = defineAlert({
  name: 'GraphApiRouteFailing',
  service: 'graph-api',
  // One route failing while the others work: the signature of a change that broke that
  // route (a migration renaming a table it reads, a bad deploy of one handler). Overall
  // error ratios can stay low when the route carries little traffic, so it is watched alone,
  // over a short window: a route with one request every 2 s must still fire within ~10 s.
  expr: `(
  sum by (route) (rate(http_requests_total{service="graph-api",code=~"5.."}[10s]))
/
  sum by (route) (rate(http_requests_total{service="graph-api"}[10s]))
) > 0.5`,
  for: '2s',
  severity: 'warning',
  summary: 'one graph-api route fails most of its requests (the alert’s route label names it)',
  description:
    'More than half of the requests to one route over the last 10s ended in a 5xx, for 2s, while other routes may be healthy. Look for a recent migration or deploy that touched this route.',
  runbook: 'runbooks/graph-api-route-failing.md',
  labels: { team: 'graph' },
  examples: [
    {
      name: 'the runbook route breaks at 30s while /resolve stays healthy',
      interval: '1s',
      series: {
        'http_requests_total{service="graph-api",route="/resolve",method="POST",code="200"}': '0+20x60',
        'http_requests_total{service="graph-api",route="/runbook/:id/run",method="POST",code="200"}': '0+1x30 30x30',
        'http_requests_total{service="graph-api",route="/runbook/:id/run",method="POST",code="500"}': '0x30 0+1x30',
      },
      quietAt: ['20s', '35s'],
      firingAt: ['50s'],
      seriesLabels: { route: '/runbook/:id/run' },
    },
  ],
});
