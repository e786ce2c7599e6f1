// One drill run as evidence: plan, every event, the measures with their derivations, the
// verdict. Written canonically and atomically under chaos-dr/, then the manifest is updated.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillPlan } from '../define/types.ts';
import type { RunEvent, Verdict } from '../engine/types.ts';
import type { Measure } from '../measure/types.ts';
import type { CoverageRequest } from '../measure/coverage.ts';
import type { LoadThresholdResult, PrometheusSli, SloTarget } from '../measure/run.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { canonicalJson, sha256 } from './canonical.ts';
import { packDir as packDirOf, runFileName } from './layout.ts';
import { updateManifest } from './manifest.ts';
import { redact } from './redact.ts';

export const RUN_RECORD_SCHEMA = 'drillbook.run/v1';

/** A measure as the pack keeps it: value, unit, formula id and inputs (measure/types.ts). */
export type MeasureRecord = Measure;

export interface RunRecord {
  schema: typeof RUN_RECORD_SCHEMA;
  runId: string;
  drill: string;
  environment: string;
  startedAt: number;
  endedAt: number;
  plan: DrillPlan;
  events: RunEvent[];
  measures: Record<string, MeasureRecord>;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  verdict: Verdict;
  exitCode: number;
  reason?: string;
  facts?: Record<string, unknown>;
  /** A restore drill's raw data: every acknowledged heartbeat and the rows present after the restore. */
  heartbeat?: { acks: Array<{ seq: number; ackedAt: number }>; surviving: number[] };
  /** The critical journeys' requests, for trace coverage (spans are in traces/<runId>.spans.json). */
  coverageRequests?: CoverageRequest[];
  /** Records before per-SLO burn: the first SLO's error ratio as Prometheus recorded it. */
  prometheusSli?: PrometheusSli;
  /** Each declared SLO's error ratio as Prometheus recorded it during the run (slo:sli_error:ratio_rate5m). */
  prometheusSlis?: PrometheusSli[];
  /** Every SLO the drill declared, by id: burn is measured against each and only these. */
  slos?: Record<string, SloTarget>;
  /** The load profile's thresholds as the runner evaluated them; each is a check of the verdict. */
  loadThresholds?: LoadThresholdResult[];
  tool: { name: string; version: string };
}

/** Functions (custom actions) are not evidence: they are replaced by a marker. */
function plainData<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'function' ? '[function]' : v))) as T;
}

/** Writes the record (canonical, redacted, atomically) and returns its absolute path. */
export function writeRunRecord(evidenceDir: string, release: string, record: RunRecord): { path: string; sha256: string; packDir: string } {
  const dir = packDirOf(evidenceDir, release);
  let name = runFileName(record.startedAt);
  for (let i = 2; existsSync(join(dir, 'chaos-dr', name)); i++) name = runFileName(record.startedAt, `-${i}`);
  const path = join(dir, 'chaos-dr', name);
  const body = canonicalJson(redact(plainData(record)));
  writeFileAtomic(path, body);
  updateManifest(dir);
  return { path, sha256: sha256(body), packDir: dir };
}
