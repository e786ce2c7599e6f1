// The bake: a long watch (72 h by default) cut into checkpoint windows (1 h). At the end
// of every window its figures are written atomically into the pack with the bake's state,
// so `--resume` after a crash or reboot continues from the last checkpoint: at most the
// window in progress is lost, and longer outages show as explicit gaps, never as health.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BakePlan } from '../define/bake.ts';
import type { Clock } from '../engine/types.ts';
import { writeFileAtomic } from '../evidence/atomic-write.ts';
import { canonicalJson } from '../evidence/canonical.ts';

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

export interface BakeTelemetry {
  /** Telemetry kind, for the record: a bake on simulated telemetry says so. */
  readonly source: 'live' | 'simulated';
  collect(from: number, to: number): Promise<BakeWindow>;
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

export interface BakeState {
  schema: 'drillbook.bake-state/v1';
  bake: string;
  startedAt: number;
  completed: number;
}

export interface BakeVerdict {
  verdict: 'pass' | 'fail';
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  sev1Total: number;
  budgetLeft: Record<string, number | null>;
  gaps: number;
}

const stamp = (t: number) => new Date(t).toISOString().replace(/[-:]/g, '').slice(0, 15);

export const bakePaths = (packDir: string, bake: string) => ({
  state: join(packDir, 'bake', `${bake}.state.json`),
  checkpoint: (startedAt: number, i: number) => join(packDir, 'bake', 'checkpoints', `${bake}-${stamp(startedAt)}-${String(i).padStart(4, '0')}.json`),
  result: (startedAt: number) => join(packDir, 'bake', `bake-${bake}-${stamp(startedAt)}.json`),
});

/** Pure: the verdict over checkpoints — no Sev-1 beyond the allowance, every window within each SLO, budget left, no gap. */
export function bakeVerdict(plan: BakePlan, checkpoints: readonly Checkpoint[]): BakeVerdict {
  const sev1Total = checkpoints.reduce((n, c) => n + c.sev1.length, 0);
  const gaps = checkpoints.filter((c) => c.gap).length;
  const checks: BakeVerdict['checks'] = [{ name: `Sev-1 alerts ≤ ${plan.verdict.sev1}`, ok: sev1Total <= plan.verdict.sev1, detail: `${sev1Total} critical alert firing(s)` }];
  const budgetLeft: Record<string, number | null> = {};
  const req = checkpoints.reduce((n, c) => n + c.requests, 0);
  const err = checkpoints.reduce((n, c) => n + c.errors, 0);
  for (const slo of plan.verdict.slos) {
    const bad = checkpoints.filter((c) => c.compliant[slo.id] === false).map((c) => c.index);
    checks.push({ name: `${slo.id}: every window within ${(slo.objective * 100).toFixed(2)}%`, ok: bad.length === 0, detail: bad.length ? `windows out of objective: ${bad.join(', ')}` : `${checkpoints.length - gaps} window(s) compliant` });
    // Budget consumed over the bake as a share of the SLO period's whole budget.
    const consumed = req ? ((err / req / (1 - slo.objective)) * plan.duration) / slo.periodMs : null;
    budgetLeft[slo.id] = consumed === null ? null : 1 - consumed;
    checks.push({ name: `${slo.id}: error budget left`, ok: consumed !== null && consumed < 1, detail: consumed === null ? 'no traffic measured' : `${((1 - consumed) * 100).toFixed(2)}% left` });
  }
  checks.push({ name: 'no checkpoint lost', ok: gaps === 0, detail: gaps ? `${gaps} window(s) without data (the harness was down)` : 'every window measured' });
  return { verdict: checks.every((c) => c.ok) ? 'pass' : 'fail', checks, sev1Total, budgetLeft, gaps };
}

export interface RunBakeOptions {
  packDir: string;
  clock: Clock;
  telemetry: BakeTelemetry;
  resume?: boolean;
  signal?: AbortSignal;
  onCheckpoint?: (c: Checkpoint, total: number) => void;
}

export interface BakeResult {
  path: string;
  startedAt: number;
  checkpoints: Checkpoint[];
  verdict: BakeVerdict;
  resumedFrom: number | null;
}

export async function runBake(plan: BakePlan, opts: RunBakeOptions): Promise<BakeResult> {
  const paths = bakePaths(opts.packDir, plan.name);
  const total = Math.ceil(plan.duration / plan.checkpoint);
  let state: BakeState;
  let resumedFrom: number | null = null;
  if (opts.resume && existsSync(paths.state)) {
    state = JSON.parse(readFileSync(paths.state, 'utf8')) as BakeState;
    resumedFrom = state.completed;
  } else {
    if (existsSync(paths.state) && !opts.resume) {
      const prior = JSON.parse(readFileSync(paths.state, 'utf8')) as BakeState;
      if (prior.completed < total) throw new Error(`bake ${plan.name} has an unfinished run (${prior.completed}/${total} checkpoints): continue it with --resume, or remove ${paths.state}`);
    }
    state = { schema: 'drillbook.bake-state/v1', bake: plan.name, startedAt: opts.clock.now(), completed: 0 };
    writeFileAtomic(paths.state, canonicalJson(state));
  }
  const windowOf = (i: number) => ({ from: state.startedAt + i * plan.checkpoint, to: Math.min(state.startedAt + (i + 1) * plan.checkpoint, state.startedAt + plan.duration) });
  const resumeAt = opts.clock.now();
  for (let i = state.completed; i < total; i++) {
    const { from, to } = windowOf(i);
    let c: Checkpoint;
    if (to <= resumeAt && resumedFrom !== null) {
      // This window ended while the harness was down: say so, do not invent it.
      c = { index: i, from, to, gap: true, requests: 0, errors: 0, p50Ms: null, p95Ms: null, sev1: [], synthetics: { runs: 0, failed: 0 }, errorRatio: null, compliant: Object.fromEntries(plan.verdict.slos.map((s) => [s.id, null])) };
    } else {
      await opts.clock.sleep(Math.max(0, to - opts.clock.now()), opts.signal);
      const w = await opts.telemetry.collect(Math.max(from, resumedFrom !== null && i === resumedFrom ? resumeAt : from), to);
      const ratio = w.requests ? w.errors / w.requests : null;
      c = { index: i, from, to, gap: false, ...w, errorRatio: ratio, compliant: Object.fromEntries(plan.verdict.slos.map((s) => [s.id, ratio === null ? null : ratio <= 1 - s.objective])) };
    }
    writeFileAtomic(paths.checkpoint(state.startedAt, i), canonicalJson(c));
    state = { ...state, completed: i + 1 };
    writeFileAtomic(paths.state, canonicalJson(state));
    opts.onCheckpoint?.(c, total);
  }
  const checkpoints = Array.from({ length: total }, (_, i) => JSON.parse(readFileSync(paths.checkpoint(state.startedAt, i), 'utf8')) as Checkpoint);
  const verdict = bakeVerdict(plan, checkpoints);
  const path = paths.result(state.startedAt);
  writeFileAtomic(path, canonicalJson({ schema: 'drillbook.bake/v1', bake: plan.name, title: plan.title, telemetry: opts.telemetry.source, startedAt: state.startedAt, duration: plan.duration, checkpoint: plan.checkpoint, resumedFrom, checkpoints, ...verdict }));
  return { path, startedAt: state.startedAt, checkpoints, verdict, resumedFrom };
}

/**
 * Deterministic telemetry for virtual-clock bakes (tests, rehearsals): steady traffic at a
 * given rate and error ratio, with optional Sev-1 alerts at given hours. Labelled
 * `simulated` in the record.
 */
export function simulatedTelemetry(opts: { requestsPerSecond: number; errorRatio: number; p50Ms: number; p95Ms: number; sev1AtHours?: number[]; startedAt: () => number }): BakeTelemetry {
  return {
    source: 'simulated',
    async collect(from, to) {
      const requests = Math.round((opts.requestsPerSecond * (to - from)) / 1000);
      const hour = Math.floor((from - opts.startedAt()) / 3_600_000);
      return {
        requests,
        errors: Math.round(requests * opts.errorRatio),
        p50Ms: opts.p50Ms,
        p95Ms: opts.p95Ms,
        sev1: (opts.sev1AtHours ?? []).includes(hour) ? ['GraphApiDatabaseDown'] : [],
        synthetics: { runs: Math.floor((to - from) / 300_000), failed: 0 },
      };
    },
  };
}
