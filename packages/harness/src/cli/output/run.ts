// `drill run --json`: one document per run, every figure as data. A finished run (`kind:
// 'result'`) is built from the run record the run wrote and its measurement (measureRun over that
// record, as `drill verify` derives it); a dry run is `kind: 'plan'` (session/run/dry-run.ts); a run
// that ended before it had a verdict (a definition or environment error) is `kind: 'error'`.
import { z } from 'zod';
import type { RunRecord } from '../../evidence/run-record.ts';
import type { Episode } from '../../measure/episodes.ts';
import type { RunMeasurement } from '../../measure/run.ts';
import { describeFault } from '../../session/describe-plan.ts';
import { CheckOut, MeasureOut, VerdictOut, checkOut, envelope, epochMs, measureOut } from './common.ts';
import { DryRunPlanOut } from '../../session/run/dry-run.ts';

const nullableTime = epochMs.nullable();

const AlertOut = z.object({
  alert: z.string(),
  firedAt: nullableTime.describe('first transition to firing at or after t_inject (the earlier source); null: never fired'),
  afterMs: z.number().nullable().describe('firedAt − tInject'),
  prometheus: nullableTime.describe("when Prometheus' own alert state first showed it firing"),
  alertmanager: nullableTime.describe('when Alertmanager first delivered it to the drill'),
});

export const EpisodeOut = z
  .object({
    phase: z.string(),
    faultId: z.string(),
    fault: z.object({
      kind: z.string(),
      description: z.string().describe("the fault as the plan states it, e.g. 'pod-kill on api (one)'"),
      provider: z.string().nullable().describe('the provider that injected it'),
      targets: z.array(z.string()).describe('what it hit (replicas, pids, objects) as the provider reported'),
    }),
    tInject: epochMs.describe('t_inject: the fault went in'),
    tImpact: nullableTime.describe('first failed steady-state result, or first second an SLI breached a declared SLO'),
    tDetect: nullableTime.describe('first expected alert firing'),
    tRecover: nullableTime.describe('start of the first run of N passing results after the impact'),
    tReverted: nullableTime.describe('the harness took the fault out'),
    ttd: MeasureOut.describe('TTD = t_detect − t_inject'),
    ttr: MeasureOut.describe('TTR = t_recover − t_inject (0 with no visible impact)'),
    impact: MeasureOut.describe('impact = t_impact − t_inject (time to visible impact)'),
    recoveryTail: MeasureOut.nullable().describe('t_recover − t_reverted, when it recovered only after the revert'),
    ttm: MeasureOut.nullable().describe("time to mitigate: the team's mitigation − t_inject"),
    rollback: MeasureOut.nullable().describe('mitigation start → t_recover'),
    recoveredBy: z.enum(['self-healed', 'after-revert', 'remediated', 'not-recovered', 'no-impact']),
    noImpact: z.boolean(),
    injectFailed: z.boolean(),
    sloImpact: z.array(z.object({ sloId: z.string(), sli: z.enum(['availability', 'latency']), detail: z.string() })),
    alerts: z.object({
      expected: z.array(AlertOut),
      unexpected: z.array(z.string()).describe('page/critical alerts that fired in the episode without being expected'),
    }),
    recoverWithin: z
      .object({ ms: z.number(), met: z.boolean().describe('TTR ≤ recoverWithin (the verdict check of the same name)') })
      .nullable()
      .describe('the expectation, null when the phase states none or its fault never went in'),
  })
  .meta({ id: 'Episode', description: 'one fault, from t_inject to recovery (docs/measures.md)' });
export type EpisodeOut = z.infer<typeof EpisodeOut>;

const BurnOut = z.object({
  slo: z.string(),
  source: z.enum(['load', 'probes', 'prometheus']).describe("what the error ratio was counted from: the drill's load, its probes, or Prometheus"),
  objective: z.number(),
  periodMs: z.number(),
  windowMs: z.number().describe('the span of the run the burn is over'),
  errorRatio: MeasureOut,
  burnRate: MeasureOut,
  budgetConsumed: MeasureOut.describe("share of the SLO period's error budget this run consumed"),
  peaks: z.array(z.object({ pair: z.string(), factor: z.number(), peak: z.number(), at: nullableTime })),
  prometheus: z
    .object({ errorRatio: MeasureOut, burnRate: MeasureOut, budgetConsumed: MeasureOut })
    .nullable()
    .describe("the same from Prometheus' recorded SLI, when it was read"),
});

const RestoreOut = z.object({
  rpo: MeasureOut,
  rto: MeasureOut,
  lostRows: MeasureOut,
  breakdownMs: z.object({ detect: z.number(), restore: z.number(), replay: z.number(), warmUp: z.number() }),
  targets: z.object({ rpoMs: z.number().nullable(), rtoMs: z.number().nullable() }),
});

const CoverageOut = z.object({
  value: z.number(),
  total: z.int(),
  complete: z.int(),
  min: z.number().nullable().describe("the drill's trace coverage gate, null when it sets none"),
  perPath: z.record(z.string(), z.object({ total: z.int(), complete: z.int(), missingSpans: z.record(z.string(), z.int()) })),
});

const FilesOut = z.object({
  pack: z.string().describe('the evidence pack directory'),
  record: z.string().describe('the run record (chaos-dr/run-….json)'),
  report: z.string(),
  written: z.array(z.string()).describe('every file of the pack this run wrote or rewrote, relative to the pack'),
});
export type FilesOut = z.infer<typeof FilesOut>;

const base = envelope('run');

export const RunResultOut = z.object({
  ...base,
  kind: z.literal('result'),
  verdict: VerdictOut,
  drill: z.string(),
  environment: z.string(),
  release: z.string(),
  runId: z.string(),
  startedAt: epochMs,
  endedAt: epochMs,
  reason: z.string().nullable().describe('why the run ended early (aborted or error), else null'),
  episodes: z.array(EpisodeOut),
  mttr: MeasureOut.nullable().describe('mean TTR over incidents (mttr.v2)'),
  incidents: MeasureOut.nullable(),
  burns: z.array(BurnOut).describe('burn per SLO the drill declared'),
  restore: RestoreOut.nullable().describe('RPO/RTO of a restore drill'),
  coverage: CoverageOut.nullable().describe('trace coverage of the critical journeys sampled during the run'),
  loadThresholds: z.array(z.object({ metric: z.string(), threshold: z.string(), ok: z.boolean(), values: z.record(z.string(), z.number()) })),
  measures: z.record(z.string(), MeasureOut).describe('every figure of the record by its key (<phase>.ttd, mttr, slo:<id>:burnRate, …)'),
  checks: z.array(CheckOut),
  files: FilesOut,
});
export type RunResultOut = z.infer<typeof RunResultOut>;

export const RunErrorOut = z.object({
  ...base,
  kind: z.literal('error'),
  dryRun: z.boolean(),
  verdict: z.null(),
  error: z.string().describe('what went wrong and how to fix it (a definition error names file, field and fix)'),
});
export type RunErrorOut = z.infer<typeof RunErrorOut>;

export const RunPlanOut = z.object({ ...base, kind: z.literal('plan'), dryRun: z.literal(true), verdict: z.null(), ...DryRunPlanOut.shape });
export type RunPlanOut = z.infer<typeof RunPlanOut>;

export const RunOutput = z.discriminatedUnion('kind', [RunResultOut, RunPlanOut, RunErrorOut]).meta({
  title: 'drill run --json',
  description: "A finished run ('result'), a dry run's plan ('plan'), or a run that ended before it had a verdict ('error').",
});
export type RunOutput = z.infer<typeof RunOutput>;

export function runErrorOutput(exitCode: number, message: string, dryRun: boolean): RunErrorOut {
  return { schema: 'drillbook.cli.run/v1', command: 'run', exitCode, kind: 'error', dryRun, verdict: null, error: message };
}

const or = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

function episodeOut(e: Episode, record: RunRecord): EpisodeOut {
  const injecting = record.events.find((x) => x.kind === 'fault.injecting' && x.faultId === e.faultId);
  const phase = record.plan.phases.find((p) => p.name === e.phase);
  return {
    phase: e.phase,
    faultId: e.faultId,
    fault: {
      kind: e.faultKind,
      description: phase?.fault ? describeFault(phase.fault) : e.faultKind,
      provider: injecting?.kind === 'fault.injecting' ? injecting.provider : null,
      targets: e.targets,
    },
    tInject: e.tInject,
    tImpact: or(e.tImpact),
    tDetect: or(e.tDetect),
    tRecover: or(e.tRecover),
    tReverted: or(e.tReverted),
    ttd: measureOut(e.ttd),
    ttr: measureOut(e.ttr),
    impact: measureOut(e.impact),
    recoveryTail: measureOut(e.recoveryTail),
    ttm: measureOut(e.ttm),
    rollback: measureOut(e.rollback),
    recoveredBy: e.recoveredBy,
    noImpact: e.noImpact,
    injectFailed: e.injectFailed,
    sloImpact: e.sloImpact.map((b) => ({ sloId: b.sloId, sli: b.sli, detail: b.detail })),
    alerts: {
      expected: e.expectedAlerts.map((alert) => {
        const at = e.alertsFired[alert];
        const by = e.alertsFiredBySource[alert] ?? {};
        return { alert, firedAt: or(at), afterMs: at === undefined ? null : at - e.tInject, prometheus: or(by.prometheus), alertmanager: or(by.alertmanager) };
      }),
      unexpected: e.unexpectedAlerts,
    },
    // The rule decideVerdict applies to its "recovered within" check (measure/verdict.ts).
    recoverWithin:
      e.recoverWithin === undefined || e.injectFailed ? null : { ms: e.recoverWithin, met: e.ttr.value !== null && e.ttr.value <= e.recoverWithin },
  };
}

export interface RunResultInput {
  record: RunRecord;
  /** measureRun over the record (evidence/rederive.ts does the same for `drill verify`). */
  measurement: RunMeasurement;
  release: string;
  files: FilesOut;
}

/** Pure: the document of a finished run. */
export function runResultOutput({ record, measurement: m, release, files }: RunResultInput): RunResultOut {
  const measures = record.measures;
  const coverageMin = record.plan.checks?.traceCoverage?.min;
  return {
    schema: 'drillbook.cli.run/v1',
    command: 'run',
    exitCode: record.exitCode,
    kind: 'result',
    verdict: record.verdict,
    drill: record.drill,
    environment: record.environment,
    release,
    runId: record.runId,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    reason: record.reason ?? null,
    episodes: m.episodes.map((e) => episodeOut(e, record)),
    mttr: measureOut(measures.mttr),
    incidents: measureOut(measures.incidents),
    burns: m.burns.map((b) => ({
      slo: b.sloId,
      source: b.report.source,
      objective: b.report.objective,
      periodMs: b.report.periodMs,
      windowMs: b.report.windowMs,
      errorRatio: measureOut(b.report.errorRatio),
      burnRate: measureOut(b.report.burnRate),
      budgetConsumed: measureOut(b.report.budgetConsumed),
      peaks: b.report.peaks.map((p) => ({ pair: p.pair, factor: p.factor, peak: p.peak, at: p.at })),
      prometheus: b.prometheus
        ? {
            errorRatio: measureOut(b.prometheus.errorRatio),
            burnRate: measureOut(b.prometheus.burnRate),
            budgetConsumed: measureOut(b.prometheus.budgetConsumed),
          }
        : null,
    })),
    restore: m.restore
      ? {
          rpo: measureOut(m.restore.rpo),
          rto: measureOut(m.restore.rto),
          lostRows: measureOut(m.restore.lostRows),
          breakdownMs: { ...m.restore.breakdown },
          targets: { rpoMs: record.plan.targets?.rpo ?? null, rtoMs: record.plan.targets?.rto ?? null },
        }
      : null,
    coverage: m.coverage
      ? {
          value: m.coverage.value,
          total: m.coverage.total,
          complete: m.coverage.complete,
          min: coverageMin ?? null,
          perPath: Object.fromEntries(
            Object.entries(m.coverage.perPath).map(([path, p]) => [path, { total: p.total, complete: p.complete, missingSpans: { ...p.missingSpans } }]),
          ),
        }
      : null,
    loadThresholds: (record.loadThresholds ?? []).map((t) => ({ metric: t.metric, threshold: t.threshold, ok: t.ok, values: { ...t.values } })),
    measures: Object.fromEntries(Object.entries(measures).map(([k, v]) => [k, measureOut(v)])),
    checks: record.checks.map(checkOut),
    files,
  };
}

/** The error document as printed (a drill name that resolves to no file ends here). */
export const printRunError = (exitCode: number, message: string, dryRun: boolean): string => JSON.stringify(runErrorOutput(exitCode, message, dryRun), null, 2);
