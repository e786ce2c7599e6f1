// The core journey as a user walks it in the service's web page, in Chromium: ingest the
// sample entities, resolve them, read the report. Each click calls one API route.
import { defineBrowserJourney } from '@drillbook/harness';

export default defineBrowserJourney({
  name: 'browser-ingest-resolve-report',
  target: 'api',
  critical: true,
  steps: [
    { name: 'open', goto: '/', expect: { visible: '#ingest', text: ['#status', 'idle'] } },
    { name: 'ingest', click: '#ingest', expect: { text: ['#status', 'POST /ingest → 201'] }, spans: ['POST /ingest'] },
    { name: 'resolve', click: '#resolve', expect: { text: ['#status', 'POST /resolve → 200'] }, spans: ['POST /resolve'] },
    { name: 'report', click: '#report', expect: { text: ['#report-output', 'caseId'] }, spans: ['GET /report/:id'] },
  ],
  trace: { services: ['graph-api'] },
});
