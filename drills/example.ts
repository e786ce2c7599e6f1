// The smallest useful game-day: lose one replica of the service and measure how long
// until every readiness probe passes again.
import { defineGameDay, fault, probe } from '@drillbook/harness';

export default defineGameDay({
  name: 'example',
  title: 'Lose one replica and come back',
  environments: ['local', 'stage'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '500ms' })],
  phases: [
    { name: 'warm-up', duration: '2s' },
    { name: 'replica-loss', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { alerts: [], recoverWithin: '30s' } },
    { name: 'cool-down', duration: '2s' },
  ],
});
