// ingest → resolve → runbook → report: the analyst's full loop (seeds' top journeys).
import { defineJourney } from '@drillbook/harness';

export default defineJourney({
  name: 'ingest-resolve-runbook-report',
  target: 'api',
  critical: true,
  steps: [
    {
      name: 'ingest',
      request: { method: 'POST', path: '/ingest', json: { entities: [{ kind: 'org', name: 'Analytical Engines' }] } },
      expect: { status: 201 },
      save: { caseId: '$.caseId' },
    },
    { name: 'resolve', request: { method: 'POST', path: '/resolve', json: { caseId: '{{caseId}}' } }, expect: { status: 200 } },
    {
      name: 'runbook',
      request: { method: 'POST', path: '/runbook/triage/run', json: { caseId: '{{caseId}}' } },
      expect: { status: [200, 202], json: { '$.runId': 'exists' } },
    },
    { name: 'report', request: { method: 'GET', path: '/report/{{caseId}}' }, expect: { status: 200, json: { '$.runs[0]': 'exists' } } },
  ],
  trace: { services: ['graph-api'], spans: ['POST /ingest', 'POST /resolve', 'POST /runbook/:id/run', 'GET /report/:id'] },
});
