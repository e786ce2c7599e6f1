// The bake: a long watch (72 h by default) cut into checkpoint windows (1 h). At the end
// of every window its figures are written atomically into the pack with the bake's state,
// so `--resume` after a crash or reboot continues from the last checkpoint: at most the
// window in progress is lost, and longer outages show as explicit gaps, never as health.
import { existsSync, readFileSync } from 'node:fs';
import type { BakePlan } from '../define/bake.ts';
import type { Clock } from '../engine/types.ts';
import { writeFileAtomic } from '../evidence/atomic-write.ts';
import { UsageError } from '../errors.ts';
import { canonicalJson } from '../evidence/canonical.ts';
import { bakePaths } from '../evidence/layout.ts';
import {
  BAKE_RECORD_SCHEMA,
  bakeVerdict,
  checkpointOf,
  type BakeCriteria,
  type BakeRecord,
  type BakeVerdict,
  type BakeWindow,
  type Checkpoint,
} from '../measure/bake.ts';

export type { BakeWindow, Checkpoint } from '../measure/bake.ts';

/** Where the windows' figures come from. */
export interface BakeTelemetry {
  /** Telemetry kind, for the record: a bake on simulated telemetry says so. */
  readonly source: 'live' | 'simulated';
  collect(from: number, to: number): Promise<BakeWindow>;
}

export interface BakeState {
  schema: 'drillbook.bake-state/v1';
  bake: string;
  startedAt: number;
  completed: number;
}

const criteriaOf = (plan: BakePlan): BakeCriteria => ({ duration: plan.duration, sev1: plan.verdict.sev1, slos: plan.verdict.slos });

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
      if (prior.completed < total)
        throw new UsageError(
          `bake ${plan.name} has an unfinished run (${prior.completed}/${total} checkpoints): continue it with --resume, or remove ${paths.state}`,
        );
    }
    state = { schema: 'drillbook.bake-state/v1', bake: plan.name, startedAt: opts.clock.now(), completed: 0 };
    writeFileAtomic(paths.state, canonicalJson(state));
  }
  const windowOf = (i: number) => ({
    from: state.startedAt + i * plan.checkpoint,
    to: Math.min(state.startedAt + (i + 1) * plan.checkpoint, state.startedAt + plan.duration),
  });
  const resumeAt = opts.clock.now();
  for (let i = state.completed; i < total; i++) {
    const { from, to } = windowOf(i);
    let c: Checkpoint;
    if (to <= resumeAt && resumedFrom !== null) {
      // This window ended while the harness was down: say so, do not invent it.
      c = checkpointOf(i, from, to, null, plan.verdict.slos);
    } else {
      await opts.clock.sleep(Math.max(0, to - opts.clock.now()), opts.signal);
      const w = await opts.telemetry.collect(Math.max(from, resumedFrom !== null && i === resumedFrom ? resumeAt : from), to);
      c = checkpointOf(i, from, to, w, plan.verdict.slos);
    }
    writeFileAtomic(paths.checkpoint(state.startedAt, i), canonicalJson(c));
    state = { ...state, completed: i + 1 };
    writeFileAtomic(paths.state, canonicalJson(state));
    opts.onCheckpoint?.(c, total);
  }
  const checkpoints = Array.from({ length: total }, (_, i) => JSON.parse(readFileSync(paths.checkpoint(state.startedAt, i), 'utf8')) as Checkpoint);
  const verdict = bakeVerdict(criteriaOf(plan), checkpoints);
  const path = paths.result(state.startedAt);
  const record: BakeRecord = {
    schema: BAKE_RECORD_SCHEMA,
    bake: plan.name,
    title: plan.title,
    telemetry: opts.telemetry.source,
    startedAt: state.startedAt,
    duration: plan.duration,
    checkpoint: plan.checkpoint,
    criteria: criteriaOf(plan),
    resumedFrom,
    checkpoints,
    ...verdict,
  };
  writeFileAtomic(path, canonicalJson(record));
  return { path, startedAt: state.startedAt, checkpoints, verdict, resumedFrom };
}

/**
 * Deterministic telemetry for virtual-clock bakes (tests, rehearsals): steady traffic at a
 * given rate and error ratio, with optional Sev-1 alerts at given hours. Labelled
 * `simulated` in the record.
 */
export function simulatedTelemetry(opts: {
  requestsPerSecond: number;
  errorRatio: number;
  p50Ms: number;
  p95Ms: number;
  sev1AtHours?: number[];
  startedAt: () => number;
}): BakeTelemetry {
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
