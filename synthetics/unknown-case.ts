// Errors stay errors: an unknown case is a 404, quickly, not a 5xx.
import { defineJourney } from '@drillbook/harness';

export default defineJourney({
  name: 'unknown-case',
  target: 'api',
  steps: [{ name: 'report', request: { method: 'GET', path: '/report/999999999' }, expect: { status: 404, maxMs: 500 } }],
  trace: { services: ['graph-api'], spans: ['GET /report/:id'] },
});
