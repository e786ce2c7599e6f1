// The P50 write traffic of steady-p50, for game-days that take a dependency away on purpose.
// Its thresholds are what must hold even then: the service fails fast instead of leaving
// callers hanging on a dead database. Errors are the point of such a drill — burn, the
// alerts and the budget stop condition judge them — so there is no error-rate threshold here
// (steady-p50's `rate<0.05` would fail every outage drill by design).
import { defineLoadProfile } from '@drillbook/harness';
import { ingestAtP50 } from './steady-p50.ts';

export default defineLoadProfile({
  name: 'outage-background',
  ...ingestAtP50,
  thresholds: { http_req_duration: ['p(95)<1000'] },
});
