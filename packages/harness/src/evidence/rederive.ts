// Deriving a run record's measures and verdict again from its raw events (and a bake's
// verdict from its checkpoints), for `drill verify`: a figure edited in the pack (even with digests and signature redone by
// someone with the key) no longer matches what its own samples say.
import { measureBurn, measureBurnFromRatioSeries, samplesFromRunLog } from '../measure/burn.ts';
import { measureEpisodes, mttr } from '../measure/episodes.ts';
import { decideVerdict } from '../measure/verdict.ts';
import { restoreFromRun } from '../measure/restore.ts';
import { traceCoverage } from '../measure/coverage.ts';
import type { StoredSpan } from '../observe/trace-store.ts';
import type { Measure } from '../measure/types.ts';
import type { RunRecord } from './run-record.ts';
import { canonicalJson } from './canonical.ts';
import { bakeVerdict, checkpointOf, type BakeRecord, type Checkpoint } from '../measure/bake.ts';

export interface Difference {
  what: string;
  recorded: unknown;
  derived: unknown;
}

const same = (a: number | null | undefined, b: number | null | undefined) =>
  a === b || (typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));

export function rederiveRunRecord(record: RunRecord, spans?: readonly StoredSpan[]): Difference[] {
  const diffs: Difference[] = [];
  const episodes = measureEpisodes(record.events, record.plan);
  const derived: Record<string, Measure> = { mttr: mttr(episodes) };
  for (const e of episodes) {
    derived[`${e.phase}.ttd`] = e.ttd;
    derived[`${e.phase}.ttr`] = e.ttr;
    derived[`${e.phase}.impact`] = e.impact;
  }
  const burnInputs = record.measures.burnRate?.inputs as { objective?: number; periodMs?: number; from?: number; to?: number } | undefined;
  if (burnInputs?.objective !== undefined && burnInputs.periodMs !== undefined) {
    const { source, samples } = samplesFromRunLog(record.events);
    const burn = measureBurn(samples, burnInputs.objective, burnInputs.periodMs, burnInputs.from ?? record.startedAt, burnInputs.to ?? record.endedAt, source);
    derived.errorRatio = burn.errorRatio;
    derived.burnRate = burn.burnRate;
    derived.budgetConsumed = burn.budgetConsumed;
  }
  if (record.heartbeat) {
    const restore = restoreFromRun(record.events, episodes, record.heartbeat, record.plan.targets ?? {});
    if (restore) Object.assign(derived, { rpo: restore.rpo, rto: restore.rto, lostRows: restore.lostRows });
  }
  if (record.prometheusSli?.series.length && burnInputs?.objective !== undefined && burnInputs.periodMs !== undefined) {
    const pb = measureBurnFromRatioSeries(record.prometheusSli.series, burnInputs.objective, burnInputs.periodMs, burnInputs.from ?? record.startedAt, burnInputs.to ?? record.endedAt);
    derived.promBurnRate = pb.burnRate;
    derived.promBudgetConsumed = pb.budgetConsumed;
  }
  let coverageCheck: { value: number; min: number } | undefined;
  if (record.coverageRequests) {
    if (!spans) diffs.push({ what: 'measure traceCoverage', recorded: record.measures.traceCoverage?.value, derived: 'no traces/<runId>.spans.json to derive it from' });
    else {
      const byTrace = new Map<string, StoredSpan[]>();
      for (const sp of spans) (byTrace.get(sp.traceId) ?? byTrace.set(sp.traceId, []).get(sp.traceId)!).push(sp);
      const c = traceCoverage(record.coverageRequests, (id) => byTrace.get(id) ?? []);
      derived.traceCoverage = c.measure;
      if (record.plan.checks?.traceCoverage) coverageCheck = { value: c.value, min: record.plan.checks.traceCoverage.min };
    }
  }
  for (const [name, m] of Object.entries(derived)) {
    const rec = record.measures[name];
    if (!rec) diffs.push({ what: `measure ${name}`, recorded: undefined, derived: m.value });
    else if (!same(rec.value, m.value)) diffs.push({ what: `measure ${name}`, recorded: rec.value, derived: m.value });
  }
  for (const name of Object.keys(record.measures)) if (!(name in derived)) diffs.push({ what: `measure ${name}`, recorded: record.measures[name]!.value, derived: 'no formula derives it' });
  const status = record.verdict === 'aborted' ? 'aborted' : record.verdict === 'error' ? 'error' : 'completed';
  const restore = record.heartbeat ? restoreFromRun(record.events, episodes, record.heartbeat, record.plan.targets ?? {}) : undefined;
  const v = decideVerdict({ outcome: { status }, events: record.events, episodes, ...(restore ? { restore } : {}), ...(coverageCheck ? { coverage: coverageCheck } : {}) });
  if (v.verdict !== record.verdict) diffs.push({ what: 'verdict', recorded: record.verdict, derived: v.verdict });
  return diffs;
}

const canon = (v: unknown) => canonicalJson(v);

/**
 * A bake record against its own checkpoints: each checkpoint's ratio and compliance from its
 * counts, each checkpoint equal to its file in bake/checkpoints/ (written as the bake went),
 * and the verdict over them from the criteria recorded with it.
 */
export function rederiveBakeRecord(record: BakeRecord, checkpointFile: (index: number) => Checkpoint | undefined): Difference[] {
  const diffs: Difference[] = [];
  const expected = Math.ceil(record.duration / record.checkpoint);
  if (record.checkpoints.length !== expected) diffs.push({ what: 'checkpoints', recorded: record.checkpoints.length, derived: `${expected} for ${record.duration} ms in ${record.checkpoint} ms windows` });
  for (const c of record.checkpoints) {
    const again = checkpointOf(c.index, c.from, c.to, c.gap ? null : c, record.criteria.slos);
    if (!same(c.errorRatio, again.errorRatio)) diffs.push({ what: `checkpoint ${c.index} errorRatio`, recorded: c.errorRatio, derived: again.errorRatio });
    if (canon(c.compliant) !== canon(again.compliant)) diffs.push({ what: `checkpoint ${c.index} compliance`, recorded: c.compliant, derived: again.compliant });
    const file = checkpointFile(c.index);
    if (!file) diffs.push({ what: `checkpoint ${c.index}`, recorded: 'in the bake record', derived: 'no checkpoint file written during the bake' });
    else if (canon(file) !== canon(c)) diffs.push({ what: `checkpoint ${c.index}`, recorded: c, derived: file });
  }
  const v = bakeVerdict(record.criteria, record.checkpoints);
  if (v.verdict !== record.verdict) diffs.push({ what: 'verdict', recorded: record.verdict, derived: v.verdict });
  for (const k of ['sev1Total', 'gaps', 'budgetLeft', 'checks'] as const)
    if (canon(v[k]) !== canon(record[k])) diffs.push({ what: `bake ${k}`, recorded: record[k], derived: v[k] });
  return diffs;
}
