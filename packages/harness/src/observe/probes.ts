// Probe executors: one observation each (HTTP, PromQL, SQL), returning a uniform
// outcome the engine appends to the run log. Journeys plug in through `runJourney`.
import { request } from 'undici';
import { pgClient } from './pg-client.ts';
import type { HttpProbe, JourneyProbe, K8sProbe, PromqlProbe, ProbeSpec, SqlProbe, Tolerance } from '../define/types.ts';
import { PrometheusClient } from './prometheus.ts';
import type { ProbeOutcome } from '../engine/timeline.ts';

/** What one probe observed (the engine's ProbeOutcome). `started` is the clock time it was sent. */
export type ProbeResult = ProbeOutcome;

/** Where probes find things: a target's base URL, a database's connection string, Prometheus. */
export interface ProbeEnvironment {
  now: () => number;
  targetUrl: (target: string) => string;
  databaseUrl: (target: string) => string;
  prometheus?: PrometheusClient;
  /** Ready and total replicas of a workload target (pods on Kubernetes, the stage's replicas locally). */
  readyReplicas?: (target: string, signal: AbortSignal) => Promise<{ ready: number; total: number }>;
  /** Runs a named journey once; supplied by the synthetics module. */
  runJourney?: (journey: string, signal: AbortSignal) => Promise<{ ok: boolean; error?: string }>;
}

export function withinTolerance(value: number, tolerance: Tolerance): boolean {
  if ('range' in tolerance) return value >= tolerance.range[0] && value <= tolerance.range[1];
  switch (tolerance.op) {
    case '<':
      return value < tolerance.value;
    case '<=':
      return value <= tolerance.value;
    case '>':
      return value > tolerance.value;
    case '>=':
      return value >= tolerance.value;
    case '==':
      return value === tolerance.value;
    case '!=':
      return value !== tolerance.value;
  }
}

export function describeTolerance(tolerance: Tolerance): string {
  return 'range' in tolerance ? `in [${tolerance.range[0]}, ${tolerance.range[1]}]` : `${tolerance.op} ${tolerance.value}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

async function runHttpProbe(probe: HttpProbe, env: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  const started = env.now();
  const t0 = performance.now();
  try {
    const url = new URL(probe.path, env.targetUrl(probe.target));
    const res = await request(url, {
      method: probe.method as 'GET',
      signal: AbortSignal.any([signal, AbortSignal.timeout(probe.timeout)]),
      headers: { 'user-agent': 'drillbook-probe' },
    });
    const body = await res.body.text();
    const latencyMs = performance.now() - t0;
    const problems: string[] = [];
    if (!probe.expect.status.includes(res.statusCode)) problems.push(`status ${res.statusCode}, expected ${probe.expect.status.join('|')}`);
    if (probe.expect.maxMs !== undefined && latencyMs > probe.expect.maxMs) problems.push(`took ${latencyMs.toFixed(0)} ms, bound ${probe.expect.maxMs} ms`);
    if (probe.expect.bodyMatches !== undefined && !new RegExp(probe.expect.bodyMatches).test(body))
      problems.push(`body does not match /${probe.expect.bodyMatches}/`);
    return { ok: problems.length === 0, started, latencyMs, status: res.statusCode, ...(problems.length ? { error: problems.join('; ') } : {}) };
  } catch (err) {
    return { ok: false, started, latencyMs: performance.now() - t0, error: errorText(err) };
  }
}

async function runPromqlProbe(probe: PromqlProbe, env: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  const started = env.now();
  const t0 = performance.now();
  if (!env.prometheus) return { ok: false, started, error: 'this environment has no Prometheus configured' };
  try {
    const samples = await env.prometheus.query(probe.query, { signal: AbortSignal.any([signal, AbortSignal.timeout(probe.timeout)]) });
    const latencyMs = performance.now() - t0;
    if (samples.length === 0) return { ok: false, started, latencyMs, error: 'query returned no data' };
    const value = samples[0]!.value;
    const ok = withinTolerance(value, probe.tolerance);
    return { ok, started, latencyMs, value, ...(ok ? {} : { error: `value ${value} not ${describeTolerance(probe.tolerance)}` }) };
  } catch (err) {
    return { ok: false, started, latencyMs: performance.now() - t0, error: errorText(err) };
  }
}

async function runSqlProbe(probe: SqlProbe, env: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  const started = env.now();
  const t0 = performance.now();
  const client = pgClient(env.databaseUrl(probe.target), { connectionTimeoutMillis: probe.timeout, query_timeout: probe.timeout });
  const onAbort = () => void client.end().catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    const result = await client.query(probe.query);
    const latencyMs = performance.now() - t0;
    const first = result.rows[0] as Record<string, unknown> | undefined;
    const raw = first ? Object.values(first)[0] : undefined;
    const value = Number(raw);
    if (raw === undefined || Number.isNaN(value))
      return { ok: false, started, latencyMs, error: `first column of the first row is not a number: ${String(raw)}` };
    const ok = withinTolerance(value, probe.tolerance);
    return { ok, started, latencyMs, value, ...(ok ? {} : { error: `value ${value} not ${describeTolerance(probe.tolerance)}` }) };
  } catch (err) {
    return { ok: false, started, latencyMs: performance.now() - t0, error: errorText(err) };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => {});
  }
}

async function runJourneyProbe(probe: JourneyProbe, env: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  const started = env.now();
  const t0 = performance.now();
  if (!env.runJourney) return { ok: false, started, error: `no journey runner for ${probe.journey}` };
  try {
    const r = await env.runJourney(probe.journey, AbortSignal.any([signal, AbortSignal.timeout(probe.timeout)]));
    return { ok: r.ok, started, latencyMs: performance.now() - t0, ...(r.error ? { error: r.error } : {}) };
  } catch (err) {
    return { ok: false, started, latencyMs: performance.now() - t0, error: errorText(err) };
  }
}

async function runReadyProbe(probe: K8sProbe, env: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  const started = env.now();
  const t0 = performance.now();
  if (!env.readyReplicas) return { ok: false, started, error: 'this environment cannot count a target’s ready replicas (Kubernetes and the local stage can)' };
  try {
    const { ready, total } = await env.readyReplicas(probe.target, AbortSignal.any([signal, AbortSignal.timeout(probe.timeout)]));
    const latencyMs = performance.now() - t0;
    const ok = withinTolerance(ready, probe.tolerance);
    return { ok, started, latencyMs, value: ready, ...(ok ? {} : { error: `${ready}/${total} ready, not ${describeTolerance(probe.tolerance)}` }) };
  } catch (err) {
    return { ok: false, started, latencyMs: performance.now() - t0, error: errorText(err) };
  }
}

/** Runs one probe; never throws: a probe that cannot run is a failed observation. */
export function runProbe(probe: ProbeSpec, env: ProbeEnvironment, signal: AbortSignal): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      return runHttpProbe(probe, env, signal);
    case 'promql':
      return runPromqlProbe(probe, env, signal);
    case 'sql':
      return runSqlProbe(probe, env, signal);
    case 'journey':
      return runJourneyProbe(probe, env, signal);
    case 'k8s':
      return runReadyProbe(probe, env, signal);
  }
}
