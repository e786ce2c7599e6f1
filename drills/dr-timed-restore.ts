// Seed DR drill: lose the primary's data, restore from the base backup plus archived WAL,
// and measure what was lost (RPO, from acknowledged heartbeat commits) and how long the
// service was down (RTO, broken into detect, restore, replay and warm-up).
import { defineDrill, probe } from '@drillbook/harness';

export default defineDrill({
  name: 'dr-timed-restore',
  title: 'DR: timed point-in-time restore of the database',
  environments: ['local'], // the restore is the stage's own PITR; on Kubernetes a team writes its restore as fault.custom
  steadyState: [
    probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '200ms', timeout: '1s' }),
    // Healthy means writable again: a database still replaying WAL answers reads only.
    probe.sql({ name: 'writable', target: 'db', query: 'select (not pg_is_in_recovery())::int', every: '200ms', tolerance: '== 1' }),
  ],
  restore: { kind: 'postgres-pitr', database: 'db', heartbeat: { every: '100ms' }, restoreAfter: '2s' },
  targets: { rpo: '15m', rto: '60m' },
  observe: '8s',
});
