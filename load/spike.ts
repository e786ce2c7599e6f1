// A spike: from 10 to 150 requests per second within 10 s, held, then back.
import { defineLoadProfile } from '@drillbook/harness';

export default defineLoadProfile({
  name: 'spike',
  target: 'api',
  request: { method: 'GET', path: '/readyz', expect: { status: 200 } },
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      preAllocatedVUs: 20,
      maxVUs: 200,
      stages: [
        { duration: '10s', target: 150 },
        { duration: '30s', target: 150 },
        { duration: '10s', target: 10 },
      ],
    },
  },
  thresholds: { 'http_req_duration{expected_response:true}': ['p(95)<800'], http_req_failed: ['rate<0.05'] },
});
