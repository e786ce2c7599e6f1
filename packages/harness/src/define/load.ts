// Load profiles in k6's vocabulary (scenarios, executors, thresholds), validated into a
// plan the embedded runner executes and the k6 exporter writes out.
import { z } from 'zod';
import { DefinitionError } from './errors.ts';
import { duration, issuesFromZod, name, strictObject, withFix } from './schema-kit.ts';
import type { Defined, Millis } from './types.ts';

export type Executor = 'constant-arrival-rate' | 'ramping-arrival-rate' | 'constant-vus' | 'ramping-vus' | 'per-vu-iterations' | 'shared-iterations';

export interface Stage {
  duration: Millis;
  target: number;
}

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
}

type Dur = string | number;
export interface LoadProfileInput {
  name: string;
  /** The environment target the requests go to (default `api`). */
  target?: string;
  request: { method?: string; path?: string; url?: string; headers?: Record<string, string>; json?: unknown; body?: string; expect?: { status?: number | number[] }; name?: string };
  scenarios: Record<string, {
    executor: Executor;
    startTime?: Dur;
    gracefulStop?: Dur;
    rate?: number;
    startRate?: number;
    timeUnit?: Dur;
    duration?: Dur;
    preAllocatedVUs?: number;
    maxVUs?: number;
    vus?: number;
    startVUs?: number;
    iterations?: number;
    maxDuration?: Dur;
    stages?: Array<{ duration: Dur; target: number }>;
  }>;
  thresholds?: Record<string, Array<string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: Dur }>>;
}

const positiveInt = (what: string) => z.number().int().min(1, { error: withFix(`${what} must be a whole number ≥ 1`, `give ${what}: 1 or more`) });

const scenario = strictObject({
  executor: z.enum(['constant-arrival-rate', 'ramping-arrival-rate', 'constant-vus', 'ramping-vus', 'per-vu-iterations', 'shared-iterations'], {
    error: withFix('unknown executor', "use one of k6's executors: constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations, shared-iterations"),
  }),
  startTime: duration({ allowZero: true }).optional(),
  gracefulStop: duration({ allowZero: true }).optional(),
  rate: z.number().positive().optional(),
  startRate: z.number().min(0).optional(),
  timeUnit: duration().optional(),
  duration: duration().optional(),
  preAllocatedVUs: positiveInt('preAllocatedVUs').optional(),
  maxVUs: positiveInt('maxVUs').optional(),
  vus: positiveInt('vus').optional(),
  startVUs: z.number().int().min(0).optional(),
  iterations: positiveInt('iterations').optional(),
  maxDuration: duration().optional(),
  stages: z.array(strictObject({ duration: duration({ allowZero: true }), target: z.number().min(0) })).min(1).optional(),
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
      Object.assign(plan, { rate: s.rate, timeUnit: s.timeUnit ?? 1_000, duration: s.duration, preAllocatedVUs: s.preAllocatedVUs, maxVUs: s.maxVUs ?? s.preAllocatedVUs });
      break;
    case 'ramping-arrival-rate':
      need('stages', "[{ duration: '1m', target: 100 }]");
      need('preAllocatedVUs', '20');
      Object.assign(plan, { startRate: s.startRate ?? 0, timeUnit: s.timeUnit ?? 1_000, stages: s.stages, preAllocatedVUs: s.preAllocatedVUs, maxVUs: s.maxVUs ?? s.preAllocatedVUs });
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

const threshold = z.union([z.string(), strictObject({ threshold: z.string(), abortOnFail: z.boolean().optional(), delayAbortEval: duration({ allowZero: true }).optional() })]).transform(
  (t): ThresholdPlan => (typeof t === 'string' ? { threshold: t, abortOnFail: false, delayAbortEval: 0 } : { threshold: t.threshold, abortOnFail: t.abortOnFail ?? false, delayAbortEval: t.delayAbortEval ?? 0 }),
);

const schema = strictObject({
  name: name(),
  target: z.string().min(1).optional(),
  request: strictObject({
    method: z.string().optional(),
    path: z.string().startsWith('/').optional(),
    url: z.string().url().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    json: z.unknown().optional(),
    body: z.string().optional(),
    expect: strictObject({ status: z.union([z.number().int(), z.array(z.number().int())]).optional() }).optional(),
    name: z.string().optional(),
  }),
  scenarios: z.record(z.string(), scenario).refine((s) => Object.keys(s).length > 0, { error: withFix('no scenario', "add scenarios: { steady: { executor: 'constant-arrival-rate', rate: 50, duration: '1m', preAllocatedVUs: 20 } }") }),
  thresholds: z.record(z.string(), z.array(threshold)).optional(),
});

export function defineLoadProfile(input: LoadProfileInput, file?: string): LoadProfile {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new DefinitionError(file, issuesFromZod(parsed.error, () => "see k6's options: https://grafana.com/docs/k6/latest/using-k6/scenarios/"));
  const d = parsed.data;
  if (!d.request.path && !d.request.url)
    throw new DefinitionError(file, [{ path: 'request.path', problem: 'a request needs a path or a url', fix: "add path: '/readyz' (on the target) or url: 'http://127.0.0.1:8080/'" }]);
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
  return { kind: 'load-profile', name: d.name, target: d.target ?? 'api', request, scenarios: d.scenarios, thresholds: d.thresholds ?? {} };
}

export function isLoadProfile(v: unknown): v is LoadProfile {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'load-profile' && 'scenarios' in v;
}
