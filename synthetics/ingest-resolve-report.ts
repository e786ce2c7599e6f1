// The seeds' core journey: ingest entities, resolve them, read the report.
import { defineJourney } from '@drillbook/harness';

export default defineJourney({
  name: 'ingest-resolve-report',
  target: 'api',
  critical: true,
  steps: [
    {
      name: 'ingest',
      request: { method: 'POST', path: '/ingest', json: { entities: [{ kind: 'person', name: 'Ada Lovelace' }] } },
      expect: { status: 201, json: { '$.caseId': 'exists' } },
      save: { caseId: '$.caseId' },
    },
    { name: 'resolve', request: { method: 'POST', path: '/resolve', json: { caseId: '{{caseId}}' } }, expect: { status: 200, maxMs: 500 } },
    { name: 'report', request: { method: 'GET', path: '/report/{{caseId}}' }, expect: { status: 200, json: { '$.caseId': 'exists' } } },
  ],
  trace: { services: ['graph-api'], spans: ['POST /ingest', 'POST /resolve', 'GET /report/:id'] },
});
