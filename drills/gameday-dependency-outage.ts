// Seed game-day 1: the database goes away under P50 load. The alerts must fire, the
// service must come back by itself once PostgreSQL is back, and MTTR is measured. The load
// (load/outage-background.ts) holds one threshold: the service fails fast while the database is gone.
import { defineGameDay, fault, probe, stop } from '@drillbook/harness';
import { availability } from '../alerts/graph-api.slo.ts';
import steady from '../load/outage-background.ts';

export default defineGameDay({
  name: 'gameday-dependency-outage',
  title: 'Game-day 1: PostgreSQL outage under load',
  environments: ['local', 'stage'],
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
      fault: fault.dependencyOutage({ target: 'db', duration: '20s' }),
      expect: { alerts: ['GraphApiDatabaseDown', 'GraphApiAvailability'], recoverWithin: '60s' },
    },
    { name: 'cool-down', duration: '10s' },
  ],
  checks: { slo: [availability] },
});
