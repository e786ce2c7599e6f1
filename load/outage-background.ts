// The P50 write traffic of steady-p50, for game-days that take a dependency away on purpose.
// Its thresholds are what must hold even then: the service fails fast instead of leaving
// callers hanging on a dead database. Errors are the point of such a drill — burn, the
// alerts and the budget stop condition judge them — so there is no error-rate threshold here
// (steady-p50's `rate<0.05` would fail every outage drill by design).
import { defineLoadProfile } from '@drillbook/harness';

export default defineLoadProfile({
  name: 'outage-background',
  target: 'api',
  request: {
    method: 'POST',
    path: '/ingest',
    json: {
      entities: [
        { kind: 'person', name: 'Ada Lovelace' },
        { kind: 'person', name: 'ada lovelace' },
      ],
    },
    expect: { status: 201 },
  },
  scenarios: {
    steady: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2m', preAllocatedVUs: 10, maxVUs: 50 },
  },
  thresholds: { http_req_duration: ['p(95)<1000'] },
});
