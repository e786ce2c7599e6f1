// `drill load --json`: one load profile's result — every metric's aggregated values, each threshold
// with its outcome, the checks, and what the generator itself cost.
import { z } from 'zod';
import type { LoadSummary } from '../../load/runner.ts';
import { envelope } from './common.ts';

export const LoadOutput = z
  .object({
    ...envelope('load'),
    profile: z.string(),
    target: z.string().describe('the base URL the requests went to'),
    thresholdsOk: z.boolean(),
    aborted: z.boolean(),
    abortReason: z.string().nullable(),
    durationMs: z.number(),
    thresholds: z.array(z.object({ metric: z.string(), threshold: z.string(), ok: z.boolean() })),
    metrics: z
      .record(
        z.string(),
        z.object({
          type: z.string().describe('counter, rate, trend or gauge (k6)'),
          contains: z.string().describe('time, data or default (k6)'),
          values: z.record(z.string(), z.number()).describe("aggregations, e.g. rate, count, avg, 'p(95)' (ms for time)"),
        }),
      )
      .describe('by k6 metric name: http_reqs, http_req_failed, http_req_duration, iterations, …'),
    checks: z.array(z.object({ name: z.string(), passes: z.int(), fails: z.int() })),
    generator: z.object({
      cpuSeconds: z.number(),
      wallSeconds: z.number(),
      cpuShare: z.number().describe('cpuSeconds / wallSeconds: 1.0 is one core fully busy'),
      workers: z.int(),
      workerCpuSeconds: z.array(z.number()).nullable(),
    }),
  })
  .meta({ title: 'drill load --json' });
export type LoadOutput = z.infer<typeof LoadOutput>;

export function loadOutput(profile: string, target: string, s: LoadSummary, exitCode: number): LoadOutput {
  return {
    schema: 'drillbook.cli.load/v1',
    command: 'load',
    exitCode,
    profile,
    target,
    thresholdsOk: s.thresholdsOk,
    aborted: s.state.aborted,
    abortReason: s.state.abortReason ?? null,
    durationMs: s.state.testRunDurationMs,
    thresholds: Object.entries(s.metrics).flatMap(([metric, m]) =>
      Object.entries(m.thresholds ?? {}).map(([threshold, t]) => ({ metric, threshold, ok: t.ok })),
    ),
    metrics: Object.fromEntries(Object.entries(s.metrics).map(([name, m]) => [name, { type: m.type, contains: m.contains, values: { ...m.values } }])),
    checks: s.root_group.checks.map((c) => ({ name: c.name, passes: c.passes, fails: c.fails })),
    generator: {
      cpuSeconds: s.generator.cpuSeconds,
      wallSeconds: s.generator.wallSeconds,
      cpuShare: s.generator.cpuShare,
      workers: s.generator.workers,
      workerCpuSeconds: s.generator.workerCpuSeconds ?? null,
    },
  };
}
