// Steady traffic at the service's median load: the background of the nightly drill.
// Ingest is the write path every critical journey starts with.
import { defineLoadProfile, type LoadProfileInput } from '@drillbook/harness';

/** The P50 write traffic itself, shared with profiles that hold other thresholds (load/outage-background.ts). */
export const ingestAtP50 = {
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
} satisfies Omit<LoadProfileInput, 'name'>;

export default defineLoadProfile({
  name: 'steady-p50',
  ...ingestAtP50,
  thresholds: { http_req_duration: ['p(95)<500'], http_req_failed: ['rate<0.05'] },
});
