// Load profiles in k6's vocabulary (scenarios, executors, thresholds), validated into a
// plan the embedded runner executes and the k6 exporter writes out.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { duration, issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis } from './types.ts';

const EXECUTORS = ['constant-arrival-rate', 'ramping-arrival-rate', 'constant-vus', 'ramping-vus', 'per-vu-iterations', 'shared-iterations'] as const;
export type Executor = (typeof EXECUTORS)[number];

// ScenarioPlan, ThresholdPlan, LoadRequest and LoadProfile stay hand-written: the schemas
// fill in each executor's defaults and turn `json` into a body; Stage is the schema's output.
export interface ScenarioPlan {
  executor: Executor;
  startTime: Millis;
  gracefulStop: Millis;
  /** Arrival-rate executors: iterations per timeUnit. */
  rate?: number;
  startRate?: number;
  timeUnit?: Millis;
  duration?: Millis;
  preAllocatedVUs?: number;
  maxVUs?: number;
  vus?: number;
  startVUs?: number;
  iterations?: number;
  maxDuration?: Millis;
  stages?: Stage[];
}

export interface ThresholdPlan {
  threshold: string;
  abortOnFail: boolean;
  delayAbortEval: Millis;
}

export interface LoadRequest {
  method: string;
  /** A path on the target (`/ingest`) or a full URL. */
  path?: string;
  url?: string;
  headers: Record<string, string>;
  body?: string;
  expectStatus: number[];
  /** The request's name tag (k6's `name`), for submetrics. */
  name: string;
}

export interface LoadProfile extends Defined<'load-profile'> {
  readonly target: string;
  readonly request: LoadRequest;
  readonly scenarios: Record<string, ScenarioPlan>;
  readonly thresholds: Record<string, ThresholdPlan[]>;
  /** Worker threads the embedded runner spreads the VUs over (1: its own event loop alone). */
  readonly workers: number;
}

const positiveInt = (what: string) =>
  z
    .number()
    .int()
    .min(1, { error: withFix(`${what} must be a whole number ≥ 1`, `give ${what}: 1 or more`) });

const stage = strictObject({
  /** How long this stage ramps towards `target`: '30s', '1m' or milliseconds. */
  duration: duration({ allowZero: true }),
  /** The rate (arrival-rate executors, per timeUnit) or VUs (ramping-vus) at the stage's end. */
  target: z.number().min(0),
});
/** One ramp of a ramping executor, as k6's `stages`. */
export type Stage = z.output<typeof stage>;

const scenario = strictObject({
  /** k6's executor: how iterations are scheduled. Arrival-rate executors hold a rate whatever the latency (open model). */
  executor: z.enum(EXECUTORS, {
    error: withFix(
      'unknown executor',
      "use one of k6's executors: constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations, shared-iterations",
    ),
  }),
  /** When the scenario starts, from the start of the load: '10s' or milliseconds. @default 0 */
  startTime: duration({ allowZero: true }).optional(),
  /** How long running iterations may finish after the scenario's end: '30s' or milliseconds. @default '30s' */
  gracefulStop: duration({ allowZero: true }).optional(),
  /** Iterations per `timeUnit` (constant-arrival-rate; required there). */
  rate: z.number().positive().optional(),
  /** Iterations per `timeUnit` at the start (ramping-arrival-rate). @default 0 */
  startRate: z.number().min(0).optional(),
  /** The period `rate` counts in: '1s', '1m' or milliseconds. @default '1s' */
  timeUnit: duration().optional(),
  /** How long the scenario runs: '1m' or milliseconds (constant-arrival-rate and constant-vus; required there). */
  duration: duration().optional(),
  /** VUs started before the scenario, at least 1 (arrival-rate executors; required there). */
  preAllocatedVUs: positiveInt('preAllocatedVUs').optional(),
  /** The most VUs an arrival-rate executor may grow to, at least preAllocatedVUs. @default preAllocatedVUs */
  maxVUs: positiveInt('maxVUs').optional(),
  /** Concurrent VUs, at least 1 (constant-vus and the iteration executors). @default 1 */
  vus: positiveInt('vus').optional(),
  /** VUs at the start (ramping-vus). @default 1 */
  startVUs: z.number().int().min(0).optional(),
  /** Iterations per VU (per-vu-iterations) or in all (shared-iterations), at least 1. @default 1 */
  iterations: positiveInt('iterations').optional(),
  /** The longest the iteration executors may run: '10m' or milliseconds. @default '10m' */
  maxDuration: duration().optional(),
  /** The ramps of a ramping executor, in order (required there). */
  stages: z.array(stage).min(1).optional(),
}).transform((s, ctx): ScenarioPlan => {
  const need = (field: keyof typeof s, example: string) => {
    if (s[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: withFix(`${s.executor} needs ${field}`, `add ${field}: ${example}`) });
  };
  const plan: ScenarioPlan = { executor: s.executor, startTime: s.startTime ?? 0, gracefulStop: s.gracefulStop ?? 30_000 };
  switch (s.executor) {
    case 'constant-arrival-rate':
      need('rate', '50');
      need('duration', "'1m'");
      need('preAllocatedVUs', '20');
      Object.assign(plan, {
        rate: s.rate,
        timeUnit: s.timeUnit ?? 1_000,
        duration: s.duration,
        preAllocatedVUs: s.preAllocatedVUs,
        maxVUs: s.maxVUs ?? s.preAllocatedVUs,
      });
      break;
    case 'ramping-arrival-rate':
      need('stages', "[{ duration: '1m', target: 100 }]");
      need('preAllocatedVUs', '20');
      Object.assign(plan, {
        startRate: s.startRate ?? 0,
        timeUnit: s.timeUnit ?? 1_000,
        stages: s.stages,
        preAllocatedVUs: s.preAllocatedVUs,
        maxVUs: s.maxVUs ?? s.preAllocatedVUs,
      });
      break;
    case 'constant-vus':
      need('duration', "'1m'");
      Object.assign(plan, { vus: s.vus ?? 1, duration: s.duration });
      break;
    case 'ramping-vus':
      need('stages', "[{ duration: '30s', target: 10 }]");
      Object.assign(plan, { startVUs: s.startVUs ?? 1, stages: s.stages });
      break;
    case 'per-vu-iterations':
      Object.assign(plan, { vus: s.vus ?? 1, iterations: s.iterations ?? 1, maxDuration: s.maxDuration ?? 600_000 });
      break;
    case 'shared-iterations':
      Object.assign(plan, { vus: s.vus ?? 1, iterations: s.iterations ?? 1, maxDuration: s.maxDuration ?? 600_000 });
      break;
  }
  if (plan.maxVUs !== undefined && plan.preAllocatedVUs !== undefined && plan.maxVUs < plan.preAllocatedVUs)
    ctx.addIssue({ code: 'custom', path: ['maxVUs'], message: withFix('maxVUs below preAllocatedVUs', 'give maxVUs ≥ preAllocatedVUs') });
  return plan;
});

/** A k6 threshold expression such as 'p(95)<300' or 'rate<0.01', or the object form with abort options. */
const threshold = z
  .union([
    z.string(),
    strictObject({
      /** The threshold expression, e.g. 'p(95)<300'. */
      threshold: z.string(),
      /** Stop the load when the threshold fails. @default false */
      abortOnFail: z.boolean().optional(),
      /** How long to wait before the first abort evaluation: '10s' or milliseconds. @default 0 */
      delayAbortEval: duration({ allowZero: true }).optional(),
    }),
  ])
  .transform((t): ThresholdPlan =>
    typeof t === 'string'
      ? { threshold: t, abortOnFail: false, delayAbortEval: 0 }
      : { threshold: t.threshold, abortOnFail: t.abortOnFail ?? false, delayAbortEval: t.delayAbortEval ?? 0 },
  );

const schema = strictObject({
  /** The profile's name: letters, digits, dots, dashes, underscores (`steady-p95`). */
  name: name(),
  /** The environment target the requests go to. @default 'api' */
  target: z.string().min(1).optional(),
  /** The request every iteration makes. A path or a url is required. */
  request: strictObject({
    /** The HTTP method. @default 'POST' with json or body, else 'GET' */
    method: z.string().optional(),
    /** A path on the target, starting with `/` (e.g. `/ingest`). */
    path: z.string().startsWith('/').optional(),
    /** A full URL, instead of a path on the target. */
    url: z.string().url().optional(),
    /** Request headers. @default content-type: application/json with json */
    headers: z.record(z.string(), z.string()).optional(),
    /** A body sent as JSON. */
    json: z.unknown().optional(),
    /** A body sent as it is. */
    body: z.string().optional(),
    /** What counts as a successful response. */
    expect: strictObject({
      /** Accepted status code(s). @default [200, 201, 202, 204] */
      status: z.union([z.number().int(), z.array(z.number().int())]).optional(),
    }).optional(),
    /** The request's name tag (k6's `name`), for submetrics. @default '<METHOD> <path or url>' */
    name: z.string().optional(),
  }),
  /** k6 scenarios by name; at least one. */
  scenarios: z.record(z.string(), scenario).refine((s) => Object.keys(s).length > 0, {
    error: withFix('no scenario', "add scenarios: { steady: { executor: 'constant-arrival-rate', rate: 50, duration: '1m', preAllocatedVUs: 20 } }"),
  }),
  /** k6 thresholds by metric (`http_req_duration`, `http_req_failed`, …), checked in the verdict. @default {} */
  thresholds: z.record(z.string(), z.array(threshold)).optional(),
  /**
   * Worker threads the embedded runner spreads each scenario over, for loads one Node event
   * loop cannot drive: VUs and arrivals are dealt out, the arrival schedule stays exact, and
   * metrics merge exactly. Each worker needs a core of its own to help (and one is left for
   * the target when it runs on the same machine); at drill rates one is cheaper. `drill load
   * --workers` overrides it; the k6 export leaves it out (k6 schedules its own VUs). @default 1
   */
  workers: positiveInt('workers')
    .max(64, { error: withFix('workers above 64', 'give workers: at most the cores the generator may use') })
    .optional(),
});

/** A load profile as written: what defineLoadProfile takes. */
export type LoadProfileInput = z.input<typeof schema>;

export function defineLoadProfile(input: LoadProfileInput, file?: string): LoadProfile {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new DefinitionError(
      file,
      issuesFromZod(parsed.error, () => "see k6's options: https://grafana.com/docs/k6/latest/using-k6/scenarios/"),
    );
  const d = parsed.data;
  if (!d.request.path && !d.request.url)
    throw new DefinitionError(file, [
      { path: 'request.path', problem: 'a request needs a path or a url', fix: "add path: '/readyz' (on the target) or url: 'http://127.0.0.1:8080/'" },
    ]);
  const method = (d.request.method ?? (d.request.json !== undefined || d.request.body !== undefined ? 'POST' : 'GET')).toUpperCase();
  const headers = { ...(d.request.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(d.request.headers ?? {}) };
  const status = d.request.expect?.status;
  const request: LoadRequest = {
    method,
    ...(d.request.path ? { path: d.request.path } : {}),
    ...(d.request.url ? { url: d.request.url } : {}),
    headers,
    ...(d.request.json !== undefined ? { body: JSON.stringify(d.request.json) } : d.request.body !== undefined ? { body: d.request.body } : {}),
    expectStatus: status === undefined ? [200, 201, 202, 204] : Array.isArray(status) ? status : [status],
    name: d.request.name ?? `${method} ${d.request.path ?? d.request.url}`,
  };
  return {
    kind: 'load-profile',
    name: d.name,
    target: d.target ?? 'api',
    request,
    scenarios: d.scenarios,
    thresholds: d.thresholds ?? {},
    workers: d.workers ?? 1,
  };
}

export function isLoadProfile(v: unknown): v is LoadProfile {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'load-profile' && 'scenarios' in v;
}
