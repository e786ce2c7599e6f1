// Seed game-day 2: a schema migration that breaks a route goes out under load; the drill
// detects the breakage, rolls the migration back, and measures the rollback's timing and
// the errors while it was in.
import { defineGameDay, fault, probe } from '@drillbook/harness';
import { availability } from '../alerts/graph-api.slo.ts';
import steady from '../load/steady-p50.ts';
import journey from '../synthetics/ingest-resolve-runbook-report.ts';

export default defineGameDay({
  name: 'gameday-migration-rollback',
  title: 'Game-day 2: a bad migration under load, detected and rolled back',
  environments: ['local', 'stage'],
  load: steady,
  steadyState: [
    probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' }),
    // The journey that touches runbook runs: the route the migration breaks.
    probe.journey(journey, { every: '2s' }),
  ],
  phases: [
    { name: 'warm-up', duration: '10s' },
    {
      name: 'bad-migration',
      // Renaming a table the service reads breaks POST /runbook/:id/run and GET /report/:id.
      fault: fault.migration({
        target: 'db',
        apply: 'ALTER TABLE runbook_runs RENAME TO runbook_runs_v2',
        rollback: 'ALTER TABLE runbook_runs_v2 RENAME TO runbook_runs',
        duration: '15s', // how long the bad migration stays before the rollback
      }),
      // Only the broken route fails: the per-route alert must see it within the 15 s.
      expect: { alerts: ['GraphApiRouteFailing'], recoverWithin: '30s' },
    },
    { name: 'cool-down', duration: '10s' },
  ],
  checks: { slo: [availability] },
});
