// Runs an HTTP journey once: steps in order, `{{vars}}` filled from earlier responses,
// assertions checked, and every request carrying a W3C traceparent (one trace id per
// journey run, a fresh parent span id per step) plus the drill's run id, so each step's
// backend trace can be found by id for trace coverage.
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { Journey, JourneyStep } from '../define/journey.ts';

export interface StepResult {
  name: string;
  ok: boolean;
  status: number;
  durationMs: number;
  started: number;
  traceId: string;
  /** The client span id sent as the parent in traceparent: the backend's root span points at it. */
  clientSpanId: string;
  failedAssertions: string[];
  error?: string;
}

export interface JourneyResult {
  journey: string;
  ok: boolean;
  traceId: string;
  steps: StepResult[];
  vars: Record<string, unknown>;
}

/** `$.a.b[0].c` over parsed JSON; undefined when any part is missing. */
export function jsonPathGet(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const m of path.slice(1).matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = m[1] !== undefined ? (cur as Record<string, unknown>)[m[1]] : (cur as unknown[])[Number(m[2])];
  }
  return cur;
}

export function fillTemplate<T>(value: T, vars: Record<string, unknown>): T {
  if (typeof value === 'string') return value.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, k: string) => String(vars[k] ?? '')) as T;
  if (Array.isArray(value)) return value.map((v) => fillTemplate(v, vars)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTemplate(v, vars)])) as T;
  return value;
}

function assertions(step: JourneyStep, status: number, durationMs: number, headers: Record<string, string | string[] | undefined>, body: unknown): string[] {
  const failed: string[] = [];
  if (!step.expect.status.includes(status)) failed.push(`status ${status}, expected ${step.expect.status.join('|')}`);
  if (step.expect.maxMs !== undefined && durationMs > step.expect.maxMs) failed.push(`took ${durationMs.toFixed(0)} ms, bound ${step.expect.maxMs} ms`);
  for (const [path, want] of Object.entries(step.expect.json)) {
    const got = jsonPathGet(body, path);
    if (want === 'exists' ? got === undefined : want === 'absent' ? got !== undefined : got !== want)
      failed.push(`${path} is ${JSON.stringify(got)}, expected ${want === 'exists' || want === 'absent' ? want : JSON.stringify(want)}`);
  }
  for (const [h, want] of Object.entries(step.expect.headers)) {
    const got = headers[h.toLowerCase()];
    if (String(got ?? '') !== want) failed.push(`header ${h} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
  return failed;
}

export async function runHttpJourney(
  journey: Journey,
  opts: { baseUrl: string; signal?: AbortSignal; runId?: string; now?: () => number },
): Promise<JourneyResult> {
  const traceId = randomBytes(16).toString('hex');
  const vars: Record<string, unknown> = {};
  const steps: StepResult[] = [];
  const now = opts.now ?? Date.now;
  for (const step of journey.steps) {
    const clientSpanId = randomBytes(8).toString('hex');
    const req = fillTemplate(step.request, vars);
    const started = now();
    const t0 = performance.now();
    let status = 0;
    let body: unknown;
    let failed: string[] = [];
    let error: string | undefined;
    try {
      const res = await request(new URL(req.path, opts.baseUrl), {
        method: req.method as 'GET',
        headers: {
          ...req.headers,
          traceparent: `00-${traceId}-${clientSpanId}-01`,
          ...(opts.runId ? { 'x-drillbook-run': opts.runId, baggage: `drillbook.run_id=${opts.runId}` } : {}),
        },
        body: req.json !== undefined ? JSON.stringify(req.json) : (req.body ?? null),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      status = res.statusCode;
      const text = await res.body.text();
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      failed = assertions(step, status, performance.now() - t0, res.headers, body);
    } catch (err) {
      error = (err as Error).message;
      failed = [`request failed: ${error}`];
    }
    const durationMs = performance.now() - t0;
    steps.push({
      name: step.name,
      ok: failed.length === 0,
      status,
      durationMs,
      started,
      traceId,
      clientSpanId,
      failedAssertions: failed,
      ...(error ? { error } : {}),
    });
    if (failed.length) break; // later steps depend on this one's values
    for (const [k, path] of Object.entries(step.save)) vars[k] = jsonPathGet(body, path);
  }
  return { journey: journey.name, ok: steps.length === journey.steps.length && steps.every((s) => s.ok), traceId, steps, vars };
}
