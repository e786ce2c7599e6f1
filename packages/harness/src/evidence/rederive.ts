// Deriving a run record's measures and verdict again from its raw events (and a bake's
// verdict from its checkpoints), for `drill verify`: a figure edited in the pack (even with digests and signature redone by
// someone with the key) no longer matches what its own samples say.
import { measureBurn, measureBurnFromRatioSeries, samplesFromRunLog, sloTargetsOfRecord } from '../measure/burn.ts';
import { measureRun } from '../measure/run.ts';
import { declaredSloIds } from '../slo/conventions.ts';
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

/**
 * Burn of a record from before per-SLO burn: one top-level figure against the objective in its
 * inputs, derived as it was then. Newer records are measured by `measureRun` like any run.
 */
function legacyBurn(record: RunRecord): Record<string, Measure> {
  const legacy = record.measures.burnRate?.inputs as { objective?: number; periodMs?: number; from?: number; to?: number } | undefined;
  if (legacy?.objective === undefined || legacy.periodMs === undefined) return {};
  const { source, samples } = samplesFromRunLog(record.events);
  const [from, to] = [legacy.from ?? record.startedAt, legacy.to ?? record.endedAt];
  const burn = measureBurn(samples, legacy.objective, legacy.periodMs, from, to, source);
  const out: Record<string, Measure> = { errorRatio: burn.errorRatio, burnRate: burn.burnRate, budgetConsumed: burn.budgetConsumed };
  if (record.prometheusSli?.series.length) {
    const pb = measureBurnFromRatioSeries(record.prometheusSli.series, legacy.objective, legacy.periodMs, from, to);
    Object.assign(out, { promBurnRate: pb.burnRate, promBudgetConsumed: pb.budgetConsumed });
  }
  return out;
}

/**
 * A run record against its own raw data: every measure, every check and the verdict derived
 * again by `measureRun` — the function the run itself used — and compared with what is recorded.
 */
export function rederiveRunRecord(record: RunRecord, spans?: readonly StoredSpan[]): Difference[] {
  const diffs: Difference[] = [];
  const slos = sloTargetsOfRecord(record);
  const legacy = !record.slos && Object.keys(slos).length === 0;
  if (!legacy) {
    // Burn must be held against exactly the SLOs the plan declares, with no invented objective.
    const declared = declaredSloIds(record.plan);
    const measured = Object.keys(slos).sort();
    if (canon(measured) !== canon(declared))
      diffs.push({ what: 'SLOs burn is measured against', recorded: measured, derived: `the SLOs the plan declares: ${canon(declared)}` });
  }
  if (record.coverageRequests && !spans)
    diffs.push({ what: 'measure traceCoverage', recorded: record.measures.traceCoverage?.value, derived: 'no traces/<runId>.spans.json to derive it from' });
  const status = record.verdict === 'aborted' ? 'aborted' : record.verdict === 'error' ? 'error' : 'completed';
  const m = measureRun({
    plan: record.plan,
    events: record.events,
    outcome: { status, startedAt: record.startedAt, endedAt: record.endedAt },
    slos,
    ...(record.heartbeat ? { heartbeat: record.heartbeat } : {}),
    ...(record.coverageRequests && spans ? { coverage: { requests: record.coverageRequests, spans } } : {}),
    prometheusSlis: record.prometheusSlis ?? [],
    loadThresholds: record.loadThresholds ?? [],
    formulas: record.measures,
  });
  const derived: Record<string, Measure> = { ...m.measures, ...(legacy ? legacyBurn(record) : {}) };
  for (const [name, d] of Object.entries(derived)) {
    const rec = record.measures[name];
    if (!rec) diffs.push({ what: `measure ${name}`, recorded: undefined, derived: d.value });
    else if (!same(rec.value, d.value)) diffs.push({ what: `measure ${name}`, recorded: rec.value, derived: d.value });
    // Episode formulas name their generation: a ttr.v2 beside an mttr.v1 was edited to change which definition applies.
    else if (/\.(ttr|impact)$|^mttr$/.test(name) && rec.formula !== d.formula)
      diffs.push({ what: `measure ${name} formula`, recorded: rec.formula, derived: d.formula });
  }
  for (const name of Object.keys(record.measures))
    if (!(name in derived)) diffs.push({ what: `measure ${name}`, recorded: record.measures[name]!.value, derived: 'no formula derives it' });
  // Checks by name and outcome (details are prose): a check flipped or dropped is caught.
  const checksOf = (cs: ReadonlyArray<{ name: string; ok: boolean }>) => cs.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}`).sort();
  const recordedChecks = checksOf(record.checks);
  const derivedChecks = checksOf(m.checks);
  if (canon(recordedChecks) !== canon(derivedChecks)) diffs.push({ what: 'checks', recorded: recordedChecks, derived: derivedChecks });
  if (m.verdict !== record.verdict) diffs.push({ what: 'verdict', recorded: record.verdict, derived: m.verdict });
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
  if (record.checkpoints.length !== expected)
    diffs.push({
      what: 'checkpoints',
      recorded: record.checkpoints.length,
      derived: `${expected} for ${record.duration} ms in ${record.checkpoint} ms windows`,
    });
  for (const c of record.checkpoints) {
    const again = checkpointOf(c.index, c.from, c.to, c.gap ? null : c, record.criteria.slos);
    if (!same(c.errorRatio, again.errorRatio)) diffs.push({ what: `checkpoint ${c.index} errorRatio`, recorded: c.errorRatio, derived: again.errorRatio });
    if (canon(c.compliant) !== canon(again.compliant))
      diffs.push({ what: `checkpoint ${c.index} compliance`, recorded: c.compliant, derived: again.compliant });
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
