// The nightly drill (seeds: "nightly scheduled drills"): lose a replica, then slow the
// database, and measure detection and recovery of each from the outside.
import { defineGameDay, fault, probe, stop } from '@drillbook/harness';
import { availability } from '../alerts/graph-api.slo.ts';
import steady from '../load/steady-p50.ts';
import journey from '../synthetics/ingest-resolve-report.ts';

export default defineGameDay({
  name: 'nightly',
  title: 'Nightly chaos: replica loss and a slow database',
  environments: ['local', 'stage'],
  load: steady, // P50 traffic on the write path for the whole drill
  steadyState: [
    // What a user sees: the service answers, through the balancer, quickly.
    probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms', timeout: '1s', expect: { status: 200, maxMs: 250 } }),
    // What capacity is left: every replica ready (Prometheus scrapes the supervisor every second).
    probe.promql({ name: 'replicas-ready', query: 'sum(stage_replicas_ready) / sum(stage_replicas_desired)', every: '1s', tolerance: '>= 1' }),
    // The critical journey end to end; its requests also measure trace coverage.
    probe.journey(journey, { every: '5s' }),
  ],
  stopWhen: [
    stop.budgetConsumed(availability, '5%'),
    stop.errorRatio({ above: 0.75, for: 10 }), // 10 consecutive seconds with most probes failing: stop hurting the stage
  ],
  phases: [
    { name: 'warm-up', duration: '10s' },
    {
      name: 'replica-loss',
      fault: fault.podKill({ target: 'api', mode: 'one' }),
      expect: { alerts: ['GraphApiReplicaDown'], recoverWithin: '60s' },
    },
    {
      name: 'slow-db',
      fault: fault.network({ target: 'db', delay: '100ms', jitter: '20ms', duration: '15s' }),
      expect: { alerts: [], recoverWithin: '30s' },
    },
    { name: 'cool-down', duration: '10s' },
  ],
  checks: { traceCoverage: { min: 0.7 }, slo: [availability] },
});
