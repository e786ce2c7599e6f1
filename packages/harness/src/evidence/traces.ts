// The traces/ part of a pack: the spans received during a run (the service's and the
// harness's own) and the run's Grafana annotations, next to the run record.
import { join } from 'node:path';
import type { StoredSpan } from '../observe/trace-store.ts';
import type { GrafanaAnnotation } from '../observe/self-trace.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { canonicalJson } from './canonical.ts';
import { packDir as packDirOf } from './layout.ts';
import { redact } from './redact.ts';

export function writeTraceFiles(
  evidenceDir: string,
  release: string,
  runId: string,
  data: { traceId: string | undefined; spans: StoredSpan[]; annotations: GrafanaAnnotation[] },
): string[] {
  const dir = join(packDirOf(evidenceDir, release), 'traces');
  const spansPath = join(dir, `${runId}.spans.json`);
  const annotationsPath = join(dir, `${runId}.annotations.json`);
  writeFileAtomic(spansPath, canonicalJson(redact({ schema: 'drillbook.spans/v1', runId, harnessTraceId: data.traceId ?? null, spans: data.spans })));
  writeFileAtomic(annotationsPath, canonicalJson(redact({ schema: 'drillbook.grafana-annotations/v1', runId, annotations: data.annotations })));
  return [spansPath, annotationsPath];
}
