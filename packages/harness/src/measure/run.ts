// Every figure and the verdict of one drill run, from what the run recorded and nothing else.
// The run pipeline calls this once the timeline ends, and `drill verify` calls it again on the
// pack's record: one function, so the figures a reviewer checks are derived the way they were made.
import type { DrillPlan } from '../define/types.ts';
import type { RunEvent, Verdict } from '../engine/types.ts';
import type { StoredSpan } from '../observe/trace-store.ts';
import { measureSloBurns, samplesFromRunLog, sloBurnMeasures, type PrometheusSli, type SloBurn, type SloTarget } from './burn.ts';
import { traceCoverage, type CoverageReport, type CoverageRequest } from './coverage.ts';
import { generationOf, incidentCount, measureEpisodes, mttr, mttrOwnRecovery, type Episode } from './episodes.ts';
import { measureMitigations, type MitigationOutcome } from './mitigation.ts';
import { restoreFromRun, type HeartbeatAck, type RestoreReport } from './restore.ts';
import type { Measure } from './types.ts';
import { decideVerdict, type Check } from './verdict.ts';

export type { PrometheusSli, SloBurn, SloTarget } from './burn.ts';

/** One threshold of the drill's load profile, as the load runner evaluated it. */
export interface LoadThresholdResult {
  metric: string;
  threshold: string;
  ok: boolean;
  /** The metric's aggregated values when the run ended (e.g. rate, p(95)). */
  values: Record<string, number>;
}

export interface RunMeasureInput {
  plan: DrillPlan;
  events: readonly RunEvent[];
  outcome: { status: 'completed' | 'aborted' | 'error'; startedAt: number; endedAt: number };
  /** Every SLO the drill declared, by id; none means no burn is reported. */
  slos: Readonly<Record<string, SloTarget>>;
  heartbeat?: { acks: readonly HeartbeatAck[]; surviving: readonly number[] };
  coverage?: { requests: readonly CoverageRequest[]; spans: readonly StoredSpan[] };
  prometheusSlis?: readonly PrometheusSli[];
  loadThresholds?: readonly LoadThresholdResult[];
  /**
   * The formula id of each measure of a record being re-derived (`drill verify`): a record made
   * with mttr.v1 is derived again with the probe-only generation it was made with. A new run gives none.
   */
  formulas?: Readonly<Record<string, { formula: string }>>;
}

export interface RunMeasurement {
  episodes: Episode[];
  /** Episodes that waited for (or got) the team's mitigation: TTM, rollback duration, attempts. */
  mitigations: MitigationOutcome[];
  burns: SloBurn[];
  restore?: RestoreReport;
  coverage?: CoverageReport;
  /** Every figure by its record key (see `measureKey`). */
  measures: Record<string, Measure>;
  checks: Check[];
  verdict: Verdict;
}

/** Record keys of a phase's measures (`<phase>.ttd`); SLO keys are `sloMeasureKey` (slo/conventions.ts). */
const phaseKey = (phase: string, what: 'ttd' | 'ttr' | 'impact' | 'recoveryTail') => `${phase}.${what}`;

function groupByTrace(spans: readonly StoredSpan[]): Map<string, StoredSpan[]> {
  const byTrace = new Map<string, StoredSpan[]>();
  for (const sp of spans) {
    const list = byTrace.get(sp.traceId);
    if (list) list.push(sp);
    else byTrace.set(sp.traceId, [sp]);
  }
  return byTrace;
}

function loadThresholdChecks(results: readonly LoadThresholdResult[]): Check[] {
  return results.map((r) => ({
    name: `load threshold ${r.metric} ${r.threshold}`,
    ok: r.ok,
    detail: Object.entries(r.values)
      .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join(' '),
  }));
}

export function measureRun(input: RunMeasureInput): RunMeasurement {
  const { plan, events, outcome } = input;
  const generation = generationOf(input.formulas ?? {});
  const episodes = measureEpisodes(events, plan, { slos: input.slos, generation });
  const measures: Record<string, Measure> =
    generation === 1
      ? { mttr: mttr(episodes, 'mttr.v1') }
      : { mttr: mttr(episodes), incidents: incidentCount(episodes), mttrOwnRecovery: mttrOwnRecovery(episodes) };
  for (const e of episodes) {
    measures[phaseKey(e.phase, 'ttd')] = e.ttd;
    measures[phaseKey(e.phase, 'ttr')] = e.ttr;
    measures[phaseKey(e.phase, 'impact')] = e.impact;
    if (e.recoveryTail) measures[phaseKey(e.phase, 'recoveryTail')] = e.recoveryTail;
  }

  const mitigations = measureMitigations(events, plan, episodes);
  Object.assign(measures, mitigations.measures);
  for (const o of mitigations.outcomes) {
    const e = episodes.find((x) => x.faultId === o.faultId);
    if (e) Object.assign(e, { ttm: o.ttm, rollback: o.rollback });
  }

  const { source, samples } = samplesFromRunLog(events);
  const burns = measureSloBurns(input.slos, samples, outcome.startedAt, outcome.endedAt, source, input.prometheusSlis);
  Object.assign(measures, sloBurnMeasures(burns));

  const restore = input.heartbeat && outcome.status !== 'error' ? restoreFromRun(events, episodes, input.heartbeat, plan.targets ?? {}) : undefined;
  if (restore) Object.assign(measures, { rpo: restore.rpo, rto: restore.rto, lostRows: restore.lostRows });

  let coverage: CoverageReport | undefined;
  if (input.coverage?.requests.length) {
    const byTrace = groupByTrace(input.coverage.spans);
    coverage = traceCoverage(input.coverage.requests, (id) => byTrace.get(id) ?? []);
    measures.traceCoverage = coverage.measure;
  }
  const coverageCheck = plan.checks?.traceCoverage && coverage ? { value: coverage.value, min: plan.checks.traceCoverage.min } : undefined;

  const { verdict, checks } = decideVerdict({
    outcome,
    events,
    episodes,
    ...(restore ? { restore } : {}),
    ...(coverageCheck ? { coverage: coverageCheck } : {}),
    extraChecks: [...mitigations.checks, ...loadThresholdChecks(input.loadThresholds ?? [])],
  });
  return { episodes, mitigations: mitigations.outcomes, burns, ...(restore ? { restore } : {}), ...(coverage ? { coverage } : {}), measures, checks, verdict };
}
