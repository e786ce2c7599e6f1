// `drill synth --json`: every journey's outcome, each step with its time and the requests it made.
import { z } from 'zod';
import type { JourneyOutcome } from '../../synthetics/run-journey.ts';
import { envelope } from './common.ts';

const JourneyOut = z.object({
  journey: z.string(),
  file: z.string(),
  runner: z.enum(['http', 'browser']),
  ok: z.boolean(),
  error: z.string().nullable().describe('<step>: <what failed>, of the first failing step'),
  traceId: z.string(),
  faroSessionId: z.string().nullable(),
  screenshot: z.string().nullable().describe("a failed browser journey's screenshot"),
  steps: z.array(
    z.object({
      name: z.string(),
      ok: z.boolean(),
      durationMs: z.number(),
      detail: z.string(),
      requests: z.array(z.object({ traceId: z.string(), clientSpanId: z.string(), status: z.int() })),
    }),
  ),
});

export const SynthOutput = z
  .object({
    ...envelope('synth'),
    target: z.string(),
    passed: z.int(),
    failed: z.int(),
    journeys: z.array(JourneyOut),
  })
  .meta({ title: 'drill synth --json' });
export type SynthOutput = z.infer<typeof SynthOutput>;

export function synthOutput(target: string, outcomes: ReadonlyArray<{ file: string; outcome: JourneyOutcome }>, exitCode: number): SynthOutput {
  return {
    schema: 'drillbook.cli.synth/v1',
    command: 'synth',
    exitCode,
    target,
    passed: outcomes.filter((o) => o.outcome.ok).length,
    failed: outcomes.filter((o) => !o.outcome.ok).length,
    journeys: outcomes.map(({ file, outcome: r }) => ({
      journey: r.journey,
      file,
      runner: r.runner,
      ok: r.ok,
      error: r.error ?? null,
      traceId: r.traceId,
      faroSessionId: r.faroSessionId ?? null,
      screenshot: r.screenshot ?? null,
      steps: r.steps.map((s) => ({
        name: s.name,
        ok: s.ok,
        durationMs: s.durationMs,
        detail: s.detail,
        requests: s.requests.map((q) => ({ traceId: q.traceId, clientSpanId: q.clientSpanId, status: q.status })),
      })),
    })),
  };
}
