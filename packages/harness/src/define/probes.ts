// Probes (steady state) and stop conditions as users write them: one schema per kind, and
// the input types derived from them. ProbeSpec, StopCondition and Tolerance (types.ts) stay
// hand-written: the schemas fill in defaults and rename `probe`/`stop` to `kind`.
import { z } from 'zod';
import type { Comparator, Defined, ProbeSpec, SloRef, StopCondition, Tolerance } from './types.ts';
import { byKind, duration, fraction, refTo, strictObject, suggestKey, withFix, name } from './schema-kit.ts';

const COMPARATORS: Comparator[] = ['<=', '>=', '==', '!=', '<', '>'];

// `op` is typed as a Comparator for editors but read as any string, so a wrong one is named below.
const comparator = z.custom<Comparator>((v) => typeof v === 'string');

/** `{ op: '<', value: 0.05 }`, `{ range: [0, 10] }` (inclusive) or the short form `'< 0.05'`. */
const tolerance = z
  .union(
    [
      z.string(),
      z.object({
        /** How the measured value compares with `value`. */
        op: comparator,
        /** The number the measured value is compared with. */
        value: z.number(),
      }),
      z.object({
        /** Inclusive bounds `[low, high]` the measured value must lie within. */
        range: z.tuple([z.number(), z.number()]),
      }),
    ],
    {
      error: withFix('expected a tolerance', "give tolerance: { op: '<', value: 0.05 }, { range: [0, 10] } or '< 0.05'"),
    },
  )
  .transform((t, ctx): Tolerance => {
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
    if (!COMPARATORS.includes(t.op)) {
      ctx.addIssue({ code: 'custom', path: ['op'], message: withFix(`unknown comparator '${t.op}'`, `use one of ${COMPARATORS.join(' ')}`) });
      return z.NEVER;
    }
    return { op: t.op, value: t.value };
  });

const missingTolerance = withFix(
  'a numeric probe needs a tolerance',
  "add tolerance: { op: '<', value: 0.05 } (or '< 0.05'): without it the probe cannot pass or fail",
);

/** The fields every probe has besides its own; `defaultEvery` is the probe kind's default interval. */
const probeTiming = {
  /** How often the probe runs: '1s', '5s' or milliseconds, above 0. @default '1s' for http, '5s' for promql and sql, '10s' for a journey */
  every: duration().optional(),
  /** How long one run may take: '2s' or milliseconds, above 0. @default `every`, at most '5s' ('30s' for a journey) */
  timeout: duration().optional(),
};

/** The probe's timeout defaults to its interval, capped at 5 s, so a probe never overlaps itself. */
const timeoutFor = (every: number, timeout: number | undefined) => timeout ?? Math.min(every, 5_000);

// An SLO as a drill imports it (defineSlo's result); its latency SLI is read in the http transform.
const sloRefShape = z.object({ kind: z.literal('slo'), id: z.string() }).passthrough();
const sloRef = () =>
  z.custom<SloRef>((v) => sloRefShape.safeParse(v).success, { error: withFix('expected an SLO', 'pass an SLO made with defineSlo, imported from alerts/') });

/** The latency threshold of an SLO with a latency SLI, in ms; undefined for any other SLO. */
function sloLatencyMs(slo: SloRef): number | undefined {
  const sli = (slo as SloRef & { sli?: { kind?: string; thresholdSeconds?: number } }).sli;
  return sli?.kind === 'latency' && typeof sli.thresholdSeconds === 'number' ? Math.round(sli.thresholdSeconds * 1000) : undefined;
}

const http = strictObject({
  /** The probe's kind; `probe.http` sets it. */
  probe: z.literal('http'),
  /** The probe's name, unique in the drill: stop conditions and the evidence name it. */
  name: name(),
  /** A target name from the environment (`api`, …); its URL is the base of `path`. */
  target: z.string({ error: withFix('missing target', "name a target of the environment, e.g. target: 'api'") }).min(1),
  /** The path requested on the target, starting with `/` (e.g. `/readyz`). */
  path: z
    .string({ error: withFix('missing path', "give the path to request, e.g. path: '/readyz'") })
    .startsWith('/', { error: withFix('a path starts with /', "write path: '/readyz'") }),
  /** The HTTP method. @default 'GET' */
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']).optional(),
  ...probeTiming,
  /** What a passing response looks like. */
  expect: strictObject({
    /** Accepted status code(s). @default 200 */
    status: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
    /** Slowest passing response, in milliseconds. @default no limit */
    maxMs: z.number().positive().optional(),
    /** A regular expression the body must match. */
    bodyMatches: z.string().optional(),
  }).optional(),
  /** The latency SLO whose threshold is this probe's slowest passing response (`fromSlo` sets it), so the threshold has one source. */
  slo: sloRef().optional(),
}).transform((p, ctx): ProbeSpec => {
  const every = p.every ?? 1_000;
  const status = p.expect?.status === undefined ? [200] : Array.isArray(p.expect.status) ? p.expect.status : [p.expect.status];
  let maxMs = p.expect?.maxMs;
  if (p.slo) {
    const fromSlo = sloLatencyMs(p.slo);
    if (fromSlo === undefined) {
      const fix = 'pass a latency SLO (sli: { latency: … }) to fromSlo, or write probe.http with expect.maxMs';
      ctx.addIssue({ code: 'custom', path: ['slo'], message: withFix(`SLO '${p.slo.id}' has no latency objective to take a threshold from`, fix) });
    } else if (maxMs !== undefined && maxMs !== fromSlo) {
      const problem = `maxMs ${maxMs} contradicts the threshold of SLO '${p.slo.id}' (${fromSlo} ms)`;
      ctx.addIssue({ code: 'custom', path: ['expect', 'maxMs'], message: withFix(problem, 'drop expect.maxMs: fromSlo takes it from the SLO') });
    }
    maxMs = fromSlo ?? maxMs;
  }
  return {
    kind: 'http',
    name: p.name,
    target: p.target,
    path: p.path,
    method: p.method ?? 'GET',
    every,
    timeout: timeoutFor(every, p.timeout),
    expect: { status, ...(maxMs ? { maxMs } : {}), ...(p.expect?.bodyMatches ? { bodyMatches: p.expect.bodyMatches } : {}) },
  };
});

// Required in the input type; checked in the transform so a missing one gets its own message.
const requiredTolerance = tolerance.optional() as unknown as z.ZodType<Tolerance | undefined, z.input<typeof tolerance>>;

const promql = strictObject({
  /** The probe's kind; `probe.promql` sets it. */
  probe: z.literal('promql'),
  /** The probe's name, unique in the drill: stop conditions and the evidence name it. */
  name: name(),
  /** A PromQL expression whose (first) value is compared with `tolerance`. */
  query: z.string().min(1, { error: withFix('empty query', 'give a PromQL expression') }),
  ...probeTiming,
  /** What the query's value must meet to pass: `{ op: '<', value: 0.05 }`, `{ range: [0, 10] }` or `'< 0.05'`. */
  tolerance: requiredTolerance,
}).transform((p, ctx): ProbeSpec => {
  if (!p.tolerance) ctx.addIssue({ code: 'custom', path: ['tolerance'], message: missingTolerance });
  const every = p.every ?? 5_000;
  return { kind: 'promql', name: p.name, query: p.query, every, timeout: timeoutFor(every, p.timeout), tolerance: p.tolerance ?? { op: '==', value: 0 } };
});

const sql = strictObject({
  /** The probe's kind; `probe.sql` sets it. */
  probe: z.literal('sql'),
  /** The probe's name, unique in the drill: stop conditions and the evidence name it. */
  name: name(),
  /** The database target of the environment (`db`, …). */
  target: z.string({ error: withFix('missing target', "name the database target, e.g. target: 'db'") }).min(1),
  /** SQL whose first column of the first row is a number, compared with `tolerance`. */
  query: z.string().min(1, { error: withFix('empty query', "give SQL whose first column is a number, e.g. 'select count(*) from heartbeat'") }),
  ...probeTiming,
  /** What the query's value must meet to pass: `{ op: '<', value: 0.05 }`, `{ range: [0, 10] }` or `'< 0.05'`. */
  tolerance: requiredTolerance,
}).transform((p, ctx): ProbeSpec => {
  if (!p.tolerance) ctx.addIssue({ code: 'custom', path: ['tolerance'], message: missingTolerance });
  const every = p.every ?? 5_000;
  return {
    kind: 'sql',
    name: p.name,
    target: p.target,
    query: p.query,
    every,
    timeout: timeoutFor(every, p.timeout),
    tolerance: p.tolerance ?? { op: '==', value: 0 },
  };
});

const journey = strictObject({
  /** The probe's kind; `probe.journey` sets it. */
  probe: z.literal('journey'),
  /** The journey to run, as defineJourney or defineBrowserJourney returned it (imported from synthetics/). */
  journey: refTo<Defined<'journey'>>(
    { kind: z.literal('journey'), name: z.string() },
    withFix('expected a journey', 'pass a journey made with defineJourney, imported from synthetics/'),
  ),
  /** The probe's name, unique in the drill. @default 'journey:<journey name>' */
  name: name().optional(),
  ...probeTiming,
}).transform((p): ProbeSpec => {
  const every = p.every ?? 10_000;
  return { kind: 'journey', name: p.name ?? `journey:${p.journey.name}`, journey: p.journey.name, every, timeout: p.timeout ?? Math.min(every, 30_000) };
});

const k8s = strictObject({
  /** The probe's kind; `probe.k8s` sets it. */
  probe: z.literal('k8s'),
  /** The probe's name, unique in the drill. @default 'ready:<target>' */
  name: name().optional(),
  /** The workload target of the environment (`api`, …): its pods on Kubernetes, its replicas on the local stage. */
  target: z.string({ error: withFix('missing target', "name the workload target, e.g. target: 'api'") }).min(1),
  /** How many ready replicas pass: `'>= 2'`, `{ op: '>=', value: 2 }` or `{ range: [2, 3] }`. */
  ready: requiredTolerance,
  ...probeTiming,
}).transform((p, ctx): ProbeSpec => {
  if (!p.ready) ctx.addIssue({ code: 'custom', path: ['ready'], message: withFix('missing ready', "say how many ready replicas pass, e.g. ready: '>= 2'") });
  const every = p.every ?? 1_000;
  return {
    kind: 'k8s',
    name: p.name ?? `ready:${p.target}`,
    target: p.target,
    every,
    timeout: timeoutFor(every, p.timeout),
    tolerance: p.ready ?? { op: '>=', value: 1 },
  };
});

const probeKinds = { http, promql, sql, journey, k8s };

export const probeSchema = byKind('probe', probeKinds, (kind) => {
  const guess = typeof kind === 'string' ? suggestKey(kind, Object.keys(probeKinds)) : undefined;
  return {
    message: withFix(
      typeof kind === 'string' ? `unknown probe kind '${kind}'` : 'expected a probe',
      guess ? `did you mean probe.${guess}(…)?` : 'build it with probe.http, probe.promql, probe.sql, probe.journey or probe.k8s',
    ),
  };
});

/** A steady-state probe as written: what probe.http/promql/sql/journey return. */
export type ProbeInput = z.input<typeof probeSchema>;
export type HttpProbeInput = Omit<z.input<typeof http>, 'probe'>;
/** `fromSlo`'s input: an http probe without its latency bound, which the SLO gives. */
export type SloProbeInput = Omit<HttpProbeInput, 'slo' | 'expect'> & { expect?: Omit<NonNullable<HttpProbeInput['expect']>, 'maxMs'> };
export type PromqlProbeInput = Omit<z.input<typeof promql>, 'probe'>;
export type SqlProbeInput = Omit<z.input<typeof sql>, 'probe'>;
export type JourneyProbeOptions = Omit<z.input<typeof journey>, 'probe' | 'journey'>;
export type K8sProbeInput = Omit<z.input<typeof k8s>, 'probe'>;
/** `{ op: '<', value: 0.05 }`, `{ range: [0, 10] }` or the short form `'< 0.05'`. */
export type ToleranceInput = z.input<typeof tolerance>;

export const probe = {
  /** An HTTP request to a target that must answer with the expected status (and time, body). */
  http: (input: HttpProbeInput): ProbeInput => ({ probe: 'http', ...input }),
  /** A PromQL query whose value must meet the tolerance. */
  promql: (input: PromqlProbeInput): ProbeInput => ({ probe: 'promql', ...input }),
  /** An SQL query whose first value must meet the tolerance. */
  sql: (input: SqlProbeInput): ProbeInput => ({ probe: 'sql', ...input }),
  /** A synthetic journey run as a probe: it passes when every step passes. */
  journey: (journey: Defined<'journey'>, options: JourneyProbeOptions = {}): ProbeInput => ({ probe: 'journey', journey, ...options }),
  /** Ready replicas of a workload target (pods with their Ready condition; the local stage's replicas) must meet `ready`. */
  k8s: (input: K8sProbeInput): ProbeInput => ({ probe: 'k8s', ...input }),
};

const consecutive = z
  .number()
  .int()
  .min(1, { error: withFix('for counts consecutive intervals, at least 1', 'give for: 3') });
const anSlo = withFix('expected an SLO', 'pass an SLO made with defineSlo, imported from alerts/');
const sloShape = z.object({ kind: z.literal('slo'), id: z.string() }).passthrough();

// Stop conditions ignore keys they do not know (they always have).
const budgetConsumed = z
  .object({
    /** The stop condition's kind; `stop.budgetConsumed` sets it. */
    stop: z.literal('budget-consumed'),
    /** The SLO whose error budget is watched, as defineSlo returned it (imported from alerts/). */
    slo: z.custom<SloRef>((v) => sloShape.safeParse(v).success, { error: anSlo }),
    /** The share of the SLO's error budget the drill may consume: '5%' or 0.05. */
    above: fraction(),
  })
  .transform((s): StopCondition => ({ kind: 'budget-consumed', slo: s.slo.id, above: s.above }));

const errorRatio = z
  .object({
    /** The stop condition's kind; `stop.errorRatio` sets it. */
    stop: z.literal('error-ratio'),
    /** The error ratio of the steady-state probes that is too much: '20%' or 0.2. */
    above: fraction(),
    /** How many consecutive intervals the ratio must stay above `above`. @default 3 */
    for: consecutive.default(3),
  })
  .transform((s): StopCondition => ({ kind: 'error-ratio', above: s.above, for: s.for }));

const missingAlert = withFix('missing alert name', "give alert: 'GraphApiAvailability'");
const alertFiring = z
  .object({
    /** The stop condition's kind; `stop.alertFiring` sets it. */
    stop: z.literal('alert-firing'),
    /** The alert's name (Prometheus `alertname`). */
    alert: z.string({ error: missingAlert }).min(1, { error: missingAlert }),
    /** How long the alert may fire before the drill stops: '2m' or milliseconds ('0s' stops at once). */
    longerThan: duration({ allowZero: true }),
  })
  .transform((s): StopCondition => ({ kind: 'alert-firing', alert: s.alert, longerThan: s.longerThan }));

const missingProbe = withFix('missing probe name', 'name one of the steady-state probes');
const probeFailing = z
  .object({
    /** The stop condition's kind; `stop.probeFailing` sets it. */
    stop: z.literal('probe-failing'),
    /** The name of one of the drill's steady-state probes. */
    probe: z.string({ error: missingProbe }).min(1, { error: missingProbe }),
    /** How many consecutive failures stop the drill. @default 3 */
    for: consecutive.default(3),
  })
  .transform((s): StopCondition => ({ kind: 'probe-failing', probe: s.probe, for: s.for }));

const stopKinds = { 'budget-consumed': budgetConsumed, 'error-ratio': errorRatio, 'alert-firing': alertFiring, 'probe-failing': probeFailing };
export const stopSchema = byKind('stop', stopKinds, () => ({
  message: withFix('expected a stop condition', 'build it with stop.budgetConsumed, stop.errorRatio, stop.alertFiring or stop.probeFailing'),
}));

/**
 * A steady-state probe that holds a latency SLO: an HTTP request whose slowest passing response is
 * the SLO's own threshold (`steadyState: [fromSlo(latency, { name, target, path })]`), not a second
 * copy of it. List the SLO in the drill's `checks.slo` too, so its SLI over the load also judges
 * each episode's impact (measure/episodes.ts).
 */
export function fromSlo(slo: SloRef, input: SloProbeInput): ProbeInput {
  return { probe: 'http', ...input, slo };
}

/** A stop condition as written: what stop.budgetConsumed/errorRatio/alertFiring/probeFailing return. */
export type StopInput = z.input<typeof stopSchema>;

export const stop = {
  /** Abort when the drill has consumed more than this share of the SLO's error budget ('5%' or 0.05). */
  budgetConsumed: (slo: SloRef, above: z.input<typeof budgetConsumed>['above']): StopInput => ({ stop: 'budget-consumed', slo, above }),
  /** Abort when the error ratio stays above `above` for `for` consecutive intervals (default 3). */
  errorRatio: (input: Omit<z.input<typeof errorRatio>, 'stop'>): StopInput => ({ stop: 'error-ratio', ...input }),
  /** Abort when an alert has been firing for longer than this. */
  alertFiring: (input: Omit<z.input<typeof alertFiring>, 'stop'>): StopInput => ({ stop: 'alert-firing', ...input }),
  /** Abort when a probe fails this many times in a row (default 3). */
  probeFailing: (input: Omit<z.input<typeof probeFailing>, 'stop'>): StopInput => ({ stop: 'probe-failing', ...input }),
};
