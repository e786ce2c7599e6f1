// SLO burn from the harness's own samples (load requests or probe results) and from
// Prometheus's SLI series. Definitions (Google SRE workbook):
//   error ratio      = errors / requests over a window
//   burn rate        = error ratio / (1 − objective)        (1× spends the budget exactly over the period)
//   budget consumed  = burn rate × window length / period   (a share of the period's whole budget)
// Multi-window alerts look at a (short, long) pair; the burn both windows show at a
// moment is the lower of the two, and its peak over the drill is reported per pair.
// Burn is measured for every SLO a drill declares, each against its own objective and
// its period's alert factors (slo/conventions.ts), and for none when it declares none.
import type { Millis } from '../define/types.ts';
import type { RunEvent } from '../engine/types.ts';
import { errorBudget, multiWindowPairs, parseSloMeasureKey, sloMeasureKey } from '../slo/conventions.ts';
import type { Measure } from './types.ts';

export interface CountSample {
  /** End of the sample's interval (ms). */
  t: number;
  requests: number;
  errors: number;
}

export type BurnSource = 'load' | 'probes';

/** Samples from a run log: per-second load samples when load ran, else one request per probe result. */
export function samplesFromRunLog(events: readonly RunEvent[]): { source: BurnSource; samples: CountSample[] } {
  const load = events.filter((e): e is Extract<RunEvent, { kind: 'load.sample' }> => e.kind === 'load.sample');
  if (load.some((s) => s.requests > 0)) return { source: 'load', samples: load.map((s) => ({ t: s.t, requests: s.requests, errors: s.failures })) };
  const probes = events.filter((e): e is Extract<RunEvent, { kind: 'probe' }> => e.kind === 'probe');
  return { source: 'probes', samples: probes.map((p) => ({ t: p.started, requests: 1, errors: p.ok ? 0 : 1 })).sort((a, b) => a.t - b.t) };
}

/** Prefix sums over time-sorted samples, for any window in O(log n). */
export class SampleWindows {
  private readonly ts: number[];
  private readonly req: number[];
  private readonly err: number[];

  constructor(samples: readonly CountSample[]) {
    const sorted = [...samples].sort((a, b) => a.t - b.t);
    this.ts = sorted.map((s) => s.t);
    this.req = [0];
    this.err = [0];
    for (const s of sorted) {
      this.req.push(this.req.at(-1)! + s.requests);
      this.err.push(this.err.at(-1)! + s.errors);
    }
  }

  get times(): readonly number[] {
    return this.ts;
  }

  /** Index of the first sample with t > x. */
  private upper(x: number): number {
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Requests and errors of samples with t in (from, to]. */
  totals(from: number, to: number): { requests: number; errors: number } {
    const a = this.upper(from);
    const b = this.upper(to);
    return { requests: this.req[b]! - this.req[a]!, errors: this.err[b]! - this.err[a]! };
  }
}

export function errorRatio(t: { requests: number; errors: number }): number {
  return t.requests > 0 ? t.errors / t.requests : 0;
}

export function burnRate(ratio: number, objective: number): number {
  return ratio / errorBudget({ objective });
}

export interface BurnPeak {
  /** `5m/1h`. */
  pair: string;
  /** The alert factor of this pair for the SLO's period (14.4 for 5m/1h over 30 days, 13.44 over 28). */
  factor: number;
  /** Highest min(short, long) burn seen during the drill, and when. */
  peak: number;
  at: number | null;
}

export interface BurnReport {
  source: BurnSource | 'prometheus';
  objective: number;
  periodMs: number;
  windowMs: number;
  errorRatio: Measure;
  burnRate: Measure;
  budgetConsumed: Measure;
  /** Peak of min(short, long) burn over the drill, per window pair, with the alert factor beside it. */
  peaks: BurnPeak[];
}

/** An SLO as burn needs it: `defineSlo` gives `objective` and `period` (ms). */
export interface SloTarget {
  objective: number;
  periodMs: Millis;
  /**
   * What the SLI counts as bad, for an episode's SLO impact (measure/episodes.ts): failed requests
   * (`ratio`) or requests slower than `thresholdMs` (`latency`). Absent in records written before
   * SLO impact was measured; read as `ratio`.
   */
  sli?: { kind: 'ratio' } | { kind: 'latency'; thresholdMs: Millis };
}

/** The SLI series Prometheus recorded for one SLO during the run (`sliErrorRatioQuery`). */
export interface PrometheusSli {
  sloId: string;
  query: string;
  series: Array<{ t: number; ratio: number }>;
}

/** One declared SLO's burn over the run. */
export interface SloBurn {
  sloId: string;
  report: BurnReport;
  /** The same burn from Prometheus's recorded SLI, when it was read. */
  prometheus?: Pick<BurnReport, 'burnRate' | 'budgetConsumed' | 'errorRatio'>;
}

function burnAgainst(w: SampleWindows, samples: number, slo: SloTarget, from: number, to: number, source: BurnSource, sloId?: string): BurnReport {
  const { objective, periodMs } = slo;
  const totals = w.totals(from - 1, to);
  const ratio = errorRatio(totals);
  const burn = burnRate(ratio, objective);
  const windowMs = Math.max(0, to - from);
  const consumed = (burn * windowMs) / periodMs;
  const inputs = { ...(sloId === undefined ? {} : { sloId }), from, to, requests: totals.requests, errors: totals.errors, objective, periodMs, samples };
  const peaks = multiWindowPairs(periodMs).map((pair) => {
    let peak = 0;
    let at: number | null = null;
    for (const t of w.times) {
      if (t < from || t > to) continue;
      const short = burnRate(errorRatio(w.totals(t - pair.shortMs, t)), objective);
      const long = burnRate(errorRatio(w.totals(t - pair.longMs, t)), objective);
      const seen = Math.min(short, long);
      if (seen > peak) [peak, at] = [seen, t];
    }
    return { pair: pair.pair, factor: pair.factor, peak, at };
  });
  return {
    source,
    objective,
    periodMs,
    windowMs,
    errorRatio: { value: ratio, unit: 'ratio', formula: 'error-ratio.v1', inputs },
    burnRate: { value: burn, unit: 'x', formula: 'burn-rate.v1', inputs },
    budgetConsumed: { value: consumed, unit: 'ratio', formula: 'budget-consumed.v1', inputs },
    peaks,
  };
}

/**
 * Burn over [from, to] for every SLO the drill declares (by id), each against its own
 * objective and its period's factors; sorted by id. No SLOs, no burn: there is no
 * objective to hold the errors against. With `prometheusSlis`, each SLO whose recorded
 * series is non-empty also gets the burn Prometheus saw.
 */
export function measureSloBurns(
  slos: Readonly<Record<string, SloTarget>>,
  samples: readonly CountSample[],
  from: number,
  to: number,
  source: BurnSource,
  prometheusSlis: readonly PrometheusSli[] = [],
): SloBurn[] {
  const ids = Object.keys(slos).sort();
  if (ids.length === 0) return [];
  const w = new SampleWindows(samples);
  return ids.map((sloId) => {
    const slo = slos[sloId]!;
    const report = burnAgainst(w, samples.length, slo, from, to, source, sloId);
    const sli = prometheusSlis.find((s) => s.sloId === sloId);
    const prometheus = sli?.series.length ? measureBurnFromRatioSeries(sli.series, slo.objective, slo.periodMs, from, to) : undefined;
    return { sloId, report, ...(prometheus ? { prometheus } : {}) };
  });
}

/** The run record's measures for these burns, keyed `slo.<sloId>.<measure>` (slo/conventions.ts). */
export function sloBurnMeasures(burns: readonly SloBurn[]): Record<string, Measure> {
  const out: Record<string, Measure> = {};
  for (const { sloId, report, prometheus } of burns) {
    out[sloMeasureKey(sloId, 'errorRatio')] = report.errorRatio;
    out[sloMeasureKey(sloId, 'burnRate')] = report.burnRate;
    out[sloMeasureKey(sloId, 'budgetConsumed')] = report.budgetConsumed;
    if (prometheus) {
      out[sloMeasureKey(sloId, 'promBurnRate')] = prometheus.burnRate;
      out[sloMeasureKey(sloId, 'promBudgetConsumed')] = prometheus.budgetConsumed;
    }
  }
  return out;
}

/**
 * The SLOs a run record measured burn against: `record.slos` as the run wrote it, or, without
 * it, read back from the `slo.<id>.burnRate` inputs. `drill verify` and the report use this
 * so they hold the same SLOs to the same objectives. A non-number input leaves that SLO out
 * (verify then reports its measures as underivable).
 */
export function sloTargetsOfRecord(record: {
  slos?: Readonly<Record<string, SloTarget>>;
  measures: Readonly<Record<string, Measure>>;
}): Record<string, SloTarget> {
  if (record.slos) return { ...record.slos };
  const out: Record<string, SloTarget> = {};
  for (const [key, m] of Object.entries(record.measures)) {
    const k = parseSloMeasureKey(key);
    if (k?.measure !== 'burnRate') continue;
    const { objective, periodMs } = m.inputs as { objective?: unknown; periodMs?: unknown };
    if (typeof objective === 'number' && typeof periodMs === 'number') out[k.sloId] = { objective, periodMs };
  }
  return out;
}

/**
 * Burn over [from, to] against one objective. Records written before burn was kept per
 * declared SLO hold these figures at the top level; `drill verify` still derives them.
 */
export function measureBurn(
  samples: readonly CountSample[],
  objective: number,
  periodMs: number,
  from: number,
  to: number,
  source: BurnSource = 'load',
): BurnReport {
  return burnAgainst(new SampleWindows(samples), samples.length, { objective, periodMs }, from, to, source);
}

/**
 * Burn from Prometheus's `slo:sli_error:ratio_rate<window>` series (values are error
 * ratios sampled at `t`): the average ratio over [from, to] weighted by sample spacing.
 */
export function measureBurnFromRatioSeries(
  series: ReadonlyArray<{ t: number; ratio: number }>,
  objective: number,
  periodMs: number,
  from: number,
  to: number,
): Pick<BurnReport, 'burnRate' | 'budgetConsumed' | 'errorRatio'> {
  const points = series.filter((p) => p.t >= from && p.t <= to).sort((a, b) => a.t - b.t);
  let area = 0;
  for (let i = 1; i < points.length; i++) area += points[i - 1]!.ratio * (points[i]!.t - points[i - 1]!.t);
  const span = points.length > 1 ? points.at(-1)!.t - points[0]!.t : 0;
  const ratio = span > 0 ? area / span : (points[0]?.ratio ?? 0);
  const burn = burnRate(ratio, objective);
  const inputs = { from, to, points: points.length, objective, periodMs };
  return {
    errorRatio: { value: ratio, unit: 'ratio', formula: 'prom-error-ratio.v1', inputs },
    burnRate: { value: burn, unit: 'x', formula: 'prom-burn-rate.v1', inputs },
    budgetConsumed: { value: (burn * (to - from)) / periodMs, unit: 'ratio', formula: 'prom-budget-consumed.v1', inputs },
  };
}
