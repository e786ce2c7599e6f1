// The bake's measures: a verdict over its checkpoint windows. Pure — `runBake` (session/)
// collects the windows, `drill verify` derives the verdict again from the recorded ones,
// and the report charts them.
import type { RunEvent } from '../engine/types.ts';

/** What happened in one window, as the environment's telemetry saw it. */
export interface BakeWindow {
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Critical (Sev-1) alerts that fired in the window. */
  sev1: string[];
  synthetics: { runs: number; failed: number };
}

export interface Checkpoint extends BakeWindow {
  index: number;
  from: number;
  to: number;
  /** No data: the harness was not running for this window. */
  gap: boolean;
  errorRatio: number | null;
  compliant: Record<string, boolean | null>;
}

/** What a bake is judged against (from its definition; kept in the record for verify). */
export interface BakeCriteria {
  duration: number;
  sev1: number;
  slos: Array<{ id: string; objective: number; periodMs: number }>;
}

export interface BakeVerdict {
  verdict: 'pass' | 'fail';
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  sev1Total: number;
  budgetLeft: Record<string, number | null>;
  gaps: number;
}

/** One window's checkpoint: its figures (none for a gap) and compliance per SLO. */
export function checkpointOf(index: number, from: number, to: number, w: BakeWindow | null, slos: BakeCriteria['slos']): Checkpoint {
  if (!w)
    return {
      index,
      from,
      to,
      gap: true,
      requests: 0,
      errors: 0,
      p50Ms: null,
      p95Ms: null,
      sev1: [],
      synthetics: { runs: 0, failed: 0 },
      errorRatio: null,
      compliant: Object.fromEntries(slos.map((s) => [s.id, null])),
    };
  const errorRatio = w.requests ? w.errors / w.requests : null;
  const window: BakeWindow = { requests: w.requests, errors: w.errors, p50Ms: w.p50Ms, p95Ms: w.p95Ms, sev1: w.sev1, synthetics: w.synthetics };
  return {
    index,
    from,
    to,
    gap: false,
    ...window,
    errorRatio,
    compliant: Object.fromEntries(slos.map((s) => [s.id, errorRatio === null ? null : errorRatio <= 1 - s.objective])),
  };
}

export const BAKE_RECORD_SCHEMA = 'drillbook.bake/v1';

/** `bake/bake-<name>-<stamp>.json`: the checkpoints and the verdict over them. */
export interface BakeRecord extends BakeVerdict {
  schema: typeof BAKE_RECORD_SCHEMA;
  bake: string;
  title?: string;
  telemetry: 'live' | 'simulated';
  startedAt: number;
  duration: number;
  checkpoint: number;
  criteria: BakeCriteria;
  resumedFrom: number | null;
  checkpoints: Checkpoint[];
}

/** Pure: the verdict over checkpoints — no Sev-1 beyond the allowance, every window within each SLO, budget left, no gap. */
export function bakeVerdict(plan: BakeCriteria, checkpoints: readonly Checkpoint[]): BakeVerdict {
  const sev1Total = checkpoints.reduce((n, c) => n + c.sev1.length, 0);
  const gaps = checkpoints.filter((c) => c.gap).length;
  const checks: BakeVerdict['checks'] = [{ name: `Sev-1 alerts ≤ ${plan.sev1}`, ok: sev1Total <= plan.sev1, detail: `${sev1Total} critical alert firing(s)` }];
  const budgetLeft: Record<string, number | null> = {};
  const req = checkpoints.reduce((n, c) => n + c.requests, 0);
  const err = checkpoints.reduce((n, c) => n + c.errors, 0);
  for (const slo of plan.slos) {
    const bad = checkpoints.filter((c) => c.compliant[slo.id] === false).map((c) => c.index);
    checks.push({
      name: `${slo.id}: every window within ${(slo.objective * 100).toFixed(2)}%`,
      ok: bad.length === 0,
      detail: bad.length ? `windows out of objective: ${bad.join(', ')}` : `${checkpoints.length - gaps} window(s) compliant`,
    });
    // Budget consumed over the bake as a share of the SLO period's whole budget.
    const consumed = req ? ((err / req / (1 - slo.objective)) * plan.duration) / slo.periodMs : null;
    budgetLeft[slo.id] = consumed === null ? null : 1 - consumed;
    checks.push({
      name: `${slo.id}: error budget left`,
      ok: consumed !== null && consumed < 1,
      detail: consumed === null ? 'no traffic measured' : `${((1 - consumed) * 100).toFixed(2)}% left`,
    });
  }
  checks.push({ name: 'no checkpoint lost', ok: gaps === 0, detail: gaps ? `${gaps} window(s) without data (the harness was down)` : 'every window measured' });
  return { verdict: checks.every((c) => c.ok) ? 'pass' : 'fail', checks, sev1Total, budgetLeft, gaps };
}

/** Pure: a window's figures from the run log of a live bake. */
export function windowFromLog(events: readonly RunEvent[], from: number, to: number): BakeWindow {
  let requests = 0;
  let errors = 0;
  let p50w = 0;
  let p95w = 0;
  const sev1 = new Set<string>();
  let runs = 0;
  let failed = 0;
  for (const e of events) {
    if (e.t < from || e.t >= to) continue;
    if (e.kind === 'load.sample') {
      requests += e.requests;
      errors += e.failures;
      // Per-second percentiles weighted by their traffic: an approximation of the window's.
      p50w += e.p50Ms * e.requests;
      p95w += e.p95Ms * e.requests;
    } else if (e.kind === 'alert' && e.state === 'firing' && e.labels.severity === 'critical') sev1.add(e.alert);
    else if (e.kind === 'step' && e.name === 'journey') {
      runs++;
      if (!(e.detail as { ok?: boolean } | undefined)?.ok) failed++;
    }
  }
  return {
    requests,
    errors,
    p50Ms: requests ? p50w / requests : null,
    p95Ms: requests ? p95w / requests : null,
    sev1: [...sev1],
    synthetics: { runs, failed },
  };
}
