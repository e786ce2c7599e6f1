// `drill bake --json`: the bake's verdict over its checkpoints, each checkpoint's figures and the
// files written.
import { z } from 'zod';
import type { BakeSessionResult } from '../../session/bake-session.ts';
import { CheckOut, checkOut, envelope, epochMs } from './common.ts';

const CheckpointOut = z.object({
  index: z.int(),
  from: epochMs,
  to: epochMs,
  gap: z.boolean().describe('no data: the harness was not running for this window'),
  requests: z.int(),
  errors: z.int(),
  errorRatio: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  sev1: z.array(z.string()).describe('critical alerts that fired in the window'),
  synthetics: z.object({ runs: z.int(), failed: z.int() }),
  compliant: z.record(z.string(), z.boolean().nullable()).describe('per SLO id: the window within its objective (null: no data)'),
});

export const BakeOutput = z
  .object({
    ...envelope('bake'),
    bake: z.string(),
    title: z.string().nullable(),
    environment: z.string(),
    release: z.string(),
    telemetry: z.enum(['live', 'simulated']).describe('simulated: a rehearsal on the virtual clock, not a measurement'),
    verdict: z.enum(['pass', 'fail']),
    startedAt: epochMs,
    durationMs: z.number(),
    checkpointMs: z.number(),
    resumedFrom: z.int().nullable().describe('the checkpoint index a --resume continued from'),
    sev1Total: z.int(),
    gaps: z.int(),
    budgetLeft: z.record(z.string(), z.number().nullable()).describe('per SLO id: error budget left over the bake'),
    checks: z.array(CheckOut),
    checkpoints: z.array(CheckpointOut),
    files: z.object({ pack: z.string(), record: z.string(), report: z.string() }),
    sealed: z.string(),
  })
  .meta({ title: 'drill bake --json' });
export type BakeOutput = z.infer<typeof BakeOutput>;

export function bakeOutput(s: BakeSessionResult, context: { environment: string; release: string; clock: 'real' | 'virtual' }, exitCode: number): BakeOutput {
  const r = s.result;
  return {
    schema: 'drillbook.cli.bake/v1',
    command: 'bake',
    exitCode,
    bake: s.plan.name,
    title: s.plan.title ?? null,
    environment: context.environment,
    release: context.release,
    telemetry: context.clock === 'virtual' ? 'simulated' : 'live',
    verdict: r.verdict.verdict,
    startedAt: r.startedAt,
    durationMs: s.plan.duration,
    checkpointMs: s.plan.checkpoint,
    resumedFrom: r.resumedFrom,
    sev1Total: r.verdict.sev1Total,
    gaps: r.verdict.gaps,
    budgetLeft: { ...r.verdict.budgetLeft },
    checks: r.verdict.checks.map(checkOut),
    checkpoints: r.checkpoints.map((c) => ({
      index: c.index,
      from: c.from,
      to: c.to,
      gap: c.gap,
      requests: c.requests,
      errors: c.errors,
      errorRatio: c.errorRatio,
      p50Ms: c.p50Ms,
      p95Ms: c.p95Ms,
      sev1: [...c.sev1],
      synthetics: { runs: c.synthetics.runs, failed: c.synthetics.failed },
      compliant: { ...c.compliant },
    })),
    files: { pack: s.packDir, record: r.path, report: s.report },
    sealed: s.sealed,
  };
}
