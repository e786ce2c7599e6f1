// SLO burn from the harness's own samples (load requests or probe results) and from
// Prometheus's SLI series. Definitions (Google SRE workbook):
//   error ratio      = errors / requests over a window
//   burn rate        = error ratio / (1 − objective)        (1× spends the budget exactly over the period)
//   budget consumed  = burn rate × window length / period   (a share of the period's whole budget)
// Multi-window alerts look at a (short, long) pair; the burn both windows show at a
// moment is the lower of the two, and its peak over the drill is reported per pair.
import type { RunEvent } from '../engine/types.ts';
import type { Measure } from './types.ts';

export interface CountSample {
  /** End of the sample's interval (ms). */
  t: number;
  requests: number;
  errors: number;
}

export const WINDOW_PAIRS: ReadonlyArray<{ name: string; shortMs: number; longMs: number; factor: number }> = [
  { name: '5m/1h', shortMs: 300_000, longMs: 3_600_000, factor: 14.4 },
  { name: '30m/6h', shortMs: 1_800_000, longMs: 21_600_000, factor: 6 },
  { name: '2h/1d', shortMs: 7_200_000, longMs: 86_400_000, factor: 3 },
  { name: '6h/3d', shortMs: 21_600_000, longMs: 259_200_000, factor: 1 },
];

/** Samples from a run log: per-second load samples when load ran, else one request per probe result. */
export function samplesFromRunLog(events: readonly RunEvent[]): { source: 'load' | 'probes'; samples: CountSample[] } {
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
  return ratio / (1 - objective);
}

export interface BurnReport {
  source: 'load' | 'probes' | 'prometheus';
  objective: number;
  periodMs: number;
  windowMs: number;
  errorRatio: Measure;
  burnRate: Measure;
  budgetConsumed: Measure;
  /** Peak of min(short, long) burn over the drill, per window pair, with the alert factor beside it. */
  peaks: Array<{ pair: string; factor: number; peak: number; at: number | null }>;
}

/** Burn over [from, to] from count samples. */
export function measureBurn(samples: readonly CountSample[], objective: number, periodMs: number, from: number, to: number, source: 'load' | 'probes' = 'load'): BurnReport {
  const w = new SampleWindows(samples);
  const totals = w.totals(from - 1, to);
  const ratio = errorRatio(totals);
  const burn = burnRate(ratio, objective);
  const windowMs = Math.max(0, to - from);
  const consumed = (burn * windowMs) / periodMs;
  const inputs = { from, to, requests: totals.requests, errors: totals.errors, objective, periodMs, samples: samples.length };
  const peaks = WINDOW_PAIRS.map((pair) => {
    let peak = 0;
    let at: number | null = null;
    for (const t of w.times) {
      if (t < from || t > to) continue;
      const short = burnRate(errorRatio(w.totals(t - pair.shortMs, t)), objective);
      const long = burnRate(errorRatio(w.totals(t - pair.longMs, t)), objective);
      const seen = Math.min(short, long);
      if (seen > peak) [peak, at] = [seen, t];
    }
    return { pair: pair.name, factor: pair.factor, peak, at };
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
 * Burn from Prometheus's `slo:sli_error:ratio_rate<window>` series (values are error
 * ratios sampled at `t`): the average ratio over [from, to] weighted by sample spacing.
 */
export function measureBurnFromRatioSeries(series: ReadonlyArray<{ t: number; ratio: number }>, objective: number, periodMs: number, from: number, to: number): Pick<BurnReport, 'burnRate' | 'budgetConsumed' | 'errorRatio'> {
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
