// Probes (steady state) and stop conditions as users write them, and their schemas.
import { z } from 'zod';
import type { Comparator, Defined, ProbeSpec, SloRef, StopCondition, Tolerance } from './types.ts';
import { duration, fraction, strictObject, suggestKey, withFix, name } from './schema-kit.ts';

type Dur = string | number;
/** `{ op: '<', value: 0.05 }`, `{ range: [0, 10] }` or the short form `'< 0.05'`. */
export type ToleranceInput = Tolerance | string;

export interface HttpProbeInput {
  name: string;
  target: string;
  path: string;
  method?: string;
  every?: Dur;
  timeout?: Dur;
  expect?: { status?: number | number[]; maxMs?: number; bodyMatches?: string };
}
export interface PromqlProbeInput {
  name: string;
  query: string;
  every?: Dur;
  timeout?: Dur;
  tolerance: ToleranceInput;
}
export interface SqlProbeInput {
  name: string;
  target: string;
  query: string;
  every?: Dur;
  timeout?: Dur;
  tolerance: ToleranceInput;
}

export type ProbeInput =
  | ({ probe: 'http' } & HttpProbeInput)
  | ({ probe: 'promql' } & PromqlProbeInput)
  | ({ probe: 'sql' } & SqlProbeInput)
  | { probe: 'journey'; journey: Defined<'journey'>; name?: string; every?: Dur; timeout?: Dur };

export const probe = {
  http: (input: HttpProbeInput): ProbeInput => ({ probe: 'http', ...input }),
  promql: (input: PromqlProbeInput): ProbeInput => ({ probe: 'promql', ...input }),
  sql: (input: SqlProbeInput): ProbeInput => ({ probe: 'sql', ...input }),
  /** A synthetic journey run as a probe: it passes when every step passes. */
  journey: (journey: Defined<'journey'>, options: { name?: string; every?: Dur; timeout?: Dur } = {}): ProbeInput => ({ probe: 'journey', journey, ...options }),
};

export type StopInput =
  | { stop: 'budget-consumed'; slo: SloRef; above: string | number }
  | { stop: 'error-ratio'; above: number; for?: number }
  | { stop: 'alert-firing'; alert: string; longerThan: Dur }
  | { stop: 'probe-failing'; probe: string; for?: number };

export const stop = {
  /** Abort when the drill has consumed more than this share of the SLO's error budget. */
  budgetConsumed: (slo: SloRef, above: string | number): StopInput => ({ stop: 'budget-consumed', slo, above }),
  /** Abort when the error ratio stays above `above` for `for` consecutive intervals (default 3). */
  errorRatio: (input: { above: number; for?: number }): StopInput => ({ stop: 'error-ratio', ...input }),
  /** Abort when an alert has been firing for longer than this. */
  alertFiring: (input: { alert: string; longerThan: Dur }): StopInput => ({ stop: 'alert-firing', ...input }),
  /** Abort when a probe fails this many times in a row (default 3). */
  probeFailing: (input: { probe: string; for?: number }): StopInput => ({ stop: 'probe-failing', ...input }),
};

const COMPARATORS: Comparator[] = ['<=', '>=', '==', '!=', '<', '>'];

const tolerance = z.union([z.string(), z.object({ op: z.string(), value: z.number() }), z.object({ range: z.tuple([z.number(), z.number()]) })], {
  error: withFix('expected a tolerance', "give tolerance: { op: '<', value: 0.05 }, { range: [0, 10] } or '< 0.05'"),
}).transform((t, ctx): Tolerance => {
  if (typeof t === 'string') {
    const m = /^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(\.\d+)?(e-?\d+)?)\s*$/.exec(t);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: withFix(`cannot read tolerance '${t}'`, "write it as '< 0.05', '>= 1' or { range: [0, 10] }") });
      return z.NEVER;
    }
    return { op: m[1] as Comparator, value: Number(m[2]) };
  }
  if ('range' in t) {
    if (t.range[0] > t.range[1]) ctx.addIssue({ code: 'custom', path: ['range'], message: withFix('range low end above its high end', 'write [low, high]') });
    return { range: t.range };
  }
  if (!COMPARATORS.includes(t.op as Comparator)) {
    ctx.addIssue({ code: 'custom', path: ['op'], message: withFix(`unknown comparator '${t.op}'`, `use one of ${COMPARATORS.join(' ')}`) });
    return z.NEVER;
  }
  return { op: t.op as Comparator, value: t.value };
});

const missingTolerance = withFix('a numeric probe needs a tolerance', "add tolerance: { op: '<', value: 0.05 } (or '< 0.05'): without it the probe cannot pass or fail");

/** The probe's timeout defaults to its interval, capped at 5 s, so a probe never overlaps itself. */
const timeoutFor = (every: number, timeout: number | undefined) => timeout ?? Math.min(every, 5_000);

const http = strictObject({
  probe: z.string(),
  name: name(),
  target: z.string({ error: withFix('missing target', "name a target of the environment, e.g. target: 'api'") }).min(1),
  path: z.string({ error: withFix('missing path', "give the path to request, e.g. path: '/readyz'") }).startsWith('/', { error: withFix('a path starts with /', "write path: '/readyz'") }),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']).optional(),
  every: duration().optional(),
  timeout: duration().optional(),
  expect: strictObject({
    status: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
    maxMs: z.number().positive().optional(),
    bodyMatches: z.string().optional(),
  }).optional(),
}).transform((p): ProbeSpec => {
  const every = p.every ?? 1_000;
  const status = p.expect?.status === undefined ? [200] : Array.isArray(p.expect.status) ? p.expect.status : [p.expect.status];
  return {
    kind: 'http',
    name: p.name,
    target: p.target,
    path: p.path,
    method: p.method ?? 'GET',
    every,
    timeout: timeoutFor(every, p.timeout),
    expect: { status, ...(p.expect?.maxMs ? { maxMs: p.expect.maxMs } : {}), ...(p.expect?.bodyMatches ? { bodyMatches: p.expect.bodyMatches } : {}) },
  };
});

const promql = strictObject({
  probe: z.string(),
  name: name(),
  query: z.string().min(1, { error: withFix('empty query', 'give a PromQL expression') }),
  every: duration().optional(),
  timeout: duration().optional(),
  tolerance: tolerance.optional(),
}).transform((p, ctx): ProbeSpec => {
  if (!p.tolerance) ctx.addIssue({ code: 'custom', path: ['tolerance'], message: missingTolerance });
  const every = p.every ?? 5_000;
  return { kind: 'promql', name: p.name, query: p.query, every, timeout: timeoutFor(every, p.timeout), tolerance: p.tolerance ?? { op: '==', value: 0 } };
});

const sql = strictObject({
  probe: z.string(),
  name: name(),
  target: z.string({ error: withFix('missing target', "name the database target, e.g. target: 'db'") }).min(1),
  query: z.string().min(1, { error: withFix('empty query', "give SQL whose first column is a number, e.g. 'select count(*) from heartbeat'") }),
  every: duration().optional(),
  timeout: duration().optional(),
  tolerance: tolerance.optional(),
}).transform((p, ctx): ProbeSpec => {
  if (!p.tolerance) ctx.addIssue({ code: 'custom', path: ['tolerance'], message: missingTolerance });
  const every = p.every ?? 5_000;
  return { kind: 'sql', name: p.name, target: p.target, query: p.query, every, timeout: timeoutFor(every, p.timeout), tolerance: p.tolerance ?? { op: '==', value: 0 } };
});

const journey = strictObject({
  probe: z.string(),
  journey: z.object({ kind: z.literal('journey'), name: z.string() }, { error: withFix('expected a journey', 'pass a journey made with defineJourney, imported from synthetics/') }).passthrough(),
  name: name().optional(),
  every: duration().optional(),
  timeout: duration().optional(),
}).transform((p): ProbeSpec => {
  const every = p.every ?? 10_000;
  return { kind: 'journey', name: p.name ?? `journey:${p.journey.name}`, journey: p.journey.name, every, timeout: p.timeout ?? Math.min(every, 30_000) };
});

const probeKinds = { http, promql, sql, journey } as const;

export const probeSchema: z.ZodType<ProbeSpec> = z.unknown().transform((input, ctx) => {
  const kind = (input as { probe?: unknown } | null)?.probe;
  const schema = typeof kind === 'string' ? probeKinds[kind as keyof typeof probeKinds] : undefined;
  if (!schema) {
    const guess = typeof kind === 'string' ? suggestKey(kind, Object.keys(probeKinds)) : undefined;
    ctx.addIssue({
      code: 'custom',
      message: withFix(typeof kind === 'string' ? `unknown probe kind '${kind}'` : 'expected a probe', guess ? `did you mean probe.${guess}(…)?` : 'build it with probe.http, probe.promql, probe.sql or probe.journey'),
    });
    return z.NEVER;
  }
  const parsed = (schema as z.ZodType<ProbeSpec>).safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
    return z.NEVER;
  }
  return parsed.data;
});

const consecutive = z.number().int().min(1, { error: withFix('for counts consecutive intervals, at least 1', 'give for: 3') });

export const stopSchema: z.ZodType<StopCondition> = z.unknown().transform((input, ctx) => {
  const s = input as StopInput | null;
  switch (s?.stop) {
    case 'budget-consumed': {
      const slo = z.object({ kind: z.literal('slo'), id: z.string() }, { error: withFix('expected an SLO', 'pass an SLO made with defineSlo, imported from alerts/') }).passthrough().safeParse(s.slo);
      const above = fraction().safeParse(s.above);
      if (!slo.success) ctx.addIssue({ code: 'custom', path: ['slo'], message: withFix('expected an SLO', 'pass an SLO made with defineSlo, imported from alerts/') });
      if (!above.success) for (const i of above.error.issues) ctx.addIssue({ ...i, path: ['above'] } as never);
      if (!slo.success || !above.success) return z.NEVER;
      return { kind: 'budget-consumed', slo: slo.data.id, above: above.data };
    }
    case 'error-ratio': {
      const above = fraction().safeParse(s.above);
      const n = consecutive.safeParse(s.for ?? 3);
      if (!above.success) for (const i of above.error.issues) ctx.addIssue({ ...i, path: ['above'] } as never);
      if (!n.success) for (const i of n.error.issues) ctx.addIssue({ ...i, path: ['for'] } as never);
      if (!above.success || !n.success) return z.NEVER;
      return { kind: 'error-ratio', above: above.data, for: n.data };
    }
    case 'alert-firing': {
      const longer = duration({ allowZero: true }).safeParse(s.longerThan);
      if (!s.alert) ctx.addIssue({ code: 'custom', path: ['alert'], message: withFix('missing alert name', "give alert: 'GraphApiAvailability'") });
      if (!longer.success) for (const i of longer.error.issues) ctx.addIssue({ ...i, path: ['longerThan'] } as never);
      if (!s.alert || !longer.success) return z.NEVER;
      return { kind: 'alert-firing', alert: s.alert, longerThan: longer.data };
    }
    case 'probe-failing': {
      const n = consecutive.safeParse(s.for ?? 3);
      if (!s.probe) ctx.addIssue({ code: 'custom', path: ['probe'], message: withFix('missing probe name', 'name one of the steady-state probes') });
      if (!n.success) for (const i of n.error.issues) ctx.addIssue({ ...i, path: ['for'] } as never);
      if (!s.probe || !n.success) return z.NEVER;
      return { kind: 'probe-failing', probe: s.probe, for: n.data };
    }
    default:
      ctx.addIssue({ code: 'custom', message: withFix('expected a stop condition', 'build it with stop.budgetConsumed, stop.errorRatio, stop.alertFiring or stop.probeFailing') });
      return z.NEVER;
  }
});
