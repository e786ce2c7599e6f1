// The 72-hour bake: P50 and P95 steady load with the critical journeys every 5 minutes,
// hourly checkpoints into the pack; no Sev-1, every hour within the availability SLO.
import { defineBake } from '@drillbook/harness';
import { availability } from '../alerts/graph-api.slo.ts';
import p50 from '../load/steady-p50.ts';
import p95 from '../load/steady-p95.ts';
import journey from '../synthetics/ingest-resolve-report.ts';

export default defineBake({
  name: 'bake-72h',
  title: '72-hour bake before release',
  environments: ['local', 'stage', 'sim'],
  duration: '72h',
  checkpoint: '1h',
  load: [p50, p95],
  synthetics: { every: '5m', journeys: [journey] },
  verdict: { sev1: 0, slos: [availability] },
});
