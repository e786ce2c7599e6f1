// Seed game-day 2: a schema migration that breaks a route goes out under load. It stays in until
// the team's own automation takes it out: GraphApiRouteFailing fires, Alertmanager delivers it,
// scripts/rollback-on-alert.ts rolls the migration back. TTR is detection + that automation, not a
// timer; TTM and the rollback's duration are measured. If the rollback does not come, the harness
// reverts the migration itself at the deadline and the episode fails.
import { defineGameDay, fault, probe } from '@drillbook/harness';
import { availability } from '../alerts/graph-api.slo.ts';
import steady from '../load/steady-p50.ts';
import { migration042 } from '../scripts/migrations/042-runbook-runs-v2.ts';
import journey from '../synthetics/ingest-resolve-runbook-report.ts';

export default defineGameDay({
  name: 'gameday-migration-rollback',
  title: 'Game-day 2: a bad migration under load, rolled back by the alert-driven rollback script',
  environments: ['local', 'stage', 'sim'],
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
      // The rollback here is the harness's safety net at the deadline, not the drilled path.
      fault: fault.migration({ target: 'db', apply: migration042.apply, rollback: migration042.rollback }),
      until: 'mitigated',
      remediate: { onAlert: 'GraphApiRouteFailing', run: 'scripts/rollback-on-alert.ts', timeout: '30s' },
      deadline: '90s',
      // Only the broken route fails: the per-route alert sees it; recovery includes the automation.
      expect: { alerts: ['GraphApiRouteFailing'], recoverWithin: '60s' },
    },
    { name: 'cool-down', duration: '10s' },
  ],
  checks: { slo: [availability] },
});
