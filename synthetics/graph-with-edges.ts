// A small graph: entities with an edge between them come back in the report.
import { defineJourney } from '@drillbook/harness';

export default defineJourney({
  name: 'graph-with-edges',
  target: 'api',
  critical: true,
  steps: [
    {
      name: 'ingest',
      request: {
        method: 'POST',
        path: '/ingest',
        json: {
          entities: [
            { kind: 'person', name: 'Charles Babbage' },
            { kind: 'org', name: 'Royal Society' },
          ],
          edges: [{ from: 0, to: 1, kind: 'member_of' }],
        },
      },
      expect: { status: 201 },
      save: { caseId: '$.caseId' },
    },
    {
      name: 'report',
      request: { method: 'GET', path: '/report/{{caseId}}' },
      expect: { status: 200, json: { '$.edges[0]': 'exists', '$.entities[1]': 'exists' } },
    },
  ],
  trace: { services: ['graph-api'], spans: ['POST /ingest', 'GET /report/:id'] },
});
