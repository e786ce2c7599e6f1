// Seed game-day 1: the database goes away under P50 load. The alerts must fire, the
// service must come back by itself once PostgreSQL is back, and MTTR is measured. The load
// (load/outage-background.ts) holds one threshold: the service fails fast while the database is gone.
import { defineGameDay, fault, probe, stop } from '@drillbook/harness';
import { availability } from '../alerts/graph-api.slo.ts';
import steady from '../load/outage-background.ts';

export default defineGameDay({
  name: 'gameday-dependency-outage',
  title: 'Game-day 1: PostgreSQL outage under load',
  environments: ['local', 'stage', 'sim'],
  load: steady,
  steadyState: [
    probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms', timeout: '1s' }),
    probe.sql({ name: 'db-up', target: 'db', query: 'select 1', every: '1s', tolerance: '== 1' }),
  ],
  stopWhen: [stop.alertFiring({ alert: 'GraphApiDatabaseDown', longerThan: '2m' })],
  phases: [
    { name: 'warm-up', duration: '10s' },
    {
      name: 'db-outage',
      // Long enough for the availability page to fire as it would in production: the stage's
      // Prometheus starts with an hour and more of healthy history, so the 14.4x page's 1h window
      // needs about 0.0144 x 60 min = 52 s of full outage (a 20 s outage pages only on a stage
      // with no past, which flattered TTD by an order of magnitude).
      fault: fault.dependencyOutage({ target: 'db', duration: '75s' }),
      expect: { alerts: ['GraphApiDatabaseDown', 'GraphApiAvailability'], recoverWithin: '2m' },
    },
    { name: 'cool-down', duration: '10s' },
  ],
  checks: { slo: [availability] },
});
