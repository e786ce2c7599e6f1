// `drill review --json`: the Go/No-Go decision, every gate with its evidence, and the files written.
import { z } from 'zod';
import type { ReviewDecision } from '../../evidence/review.ts';
import { envelope } from './common.ts';

export const ReviewOutput = z
  .object({
    ...envelope('review'),
    release: z.string(),
    decision: z.enum(['GO', 'NO-GO']),
    gates: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        status: z.enum(['pass', 'fail', 'missing']),
        detail: z.string(),
        evidence: z.array(z.string()).describe('pack files the gate was decided from'),
      }),
    ),
    runs: z.int().describe('drill runs in the release'),
    files: z.object({ pack: z.string(), memo: z.string(), summary: z.string() }),
    sealed: z.string(),
  })
  .meta({ title: 'drill review --json' });
export type ReviewOutput = z.infer<typeof ReviewOutput>;

export function reviewOutput(
  d: ReviewDecision,
  context: { release: string; runs: number; files: ReviewOutput['files']; sealed: string },
  exitCode: number,
): ReviewOutput {
  return {
    schema: 'drillbook.cli.review/v1',
    command: 'review',
    exitCode,
    release: context.release,
    decision: d.decision,
    gates: d.gates.map((g) => ({ id: g.id, name: g.name, status: g.status, detail: g.detail, evidence: [...g.evidence] })),
    runs: context.runs,
    files: context.files,
    sealed: context.sealed,
  };
}
