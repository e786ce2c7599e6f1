// Entity resolution does its job: two spellings of one person become one cluster.
import { defineJourney } from '@drillbook/harness';

export default defineJourney({
  name: 'resolution-merges-duplicates',
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
            { kind: 'person', name: 'Ada Lovelace' },
            { kind: 'person', name: '  ada lovelace ' },
          ],
        },
      },
      expect: { status: 201 },
      save: { caseId: '$.caseId' },
    },
    {
      name: 'resolve',
      request: { method: 'POST', path: '/resolve', json: { caseId: '{{caseId}}' } },
      expect: { status: 200, json: { '$.clusters[0].kind': 'person', '$.clusters[0].entityIds[1]': 'exists', '$.clusters[1]': 'absent' } },
    },
  ],
  trace: { services: ['graph-api'], spans: ['POST /ingest', 'POST /resolve'] },
});
