// Traffic at the service's 95th-percentile load: for bakes and capacity checks.
import { defineLoadProfile } from '@drillbook/harness';

export default defineLoadProfile({
  name: 'steady-p95',
  target: 'api',
  request: { method: 'POST', path: '/ingest', json: { entities: [{ kind: 'org', name: 'Analytical Engines Ltd' }] }, expect: { status: 201 } },
  scenarios: {
    steady: { executor: 'constant-arrival-rate', rate: 60, timeUnit: '1s', duration: '5m', preAllocatedVUs: 20, maxVUs: 100 },
  },
  thresholds: { http_req_duration: ['p(95)<500', { threshold: 'p(99)<1500', abortOnFail: true, delayAbortEval: '30s' }], http_req_failed: ['rate<0.01'] },
});
