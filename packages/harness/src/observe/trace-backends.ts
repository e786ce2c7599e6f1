// Where a run's backend traces are read back from. Locally they arrive at the harness's own
// OTLP receiver; a team's stage keeps them in Tempo or Jaeger, read through their query APIs:
//   Tempo  GET /api/traces/<id>  → OTLP JSON ({batches|resourceSpans}, ids base64 or hex,
//          kinds/status as enum names);  GET /api/search?q=<TraceQL>&start&end&limit
//          → {traces:[{traceID, rootServiceName, …}]}
//   Jaeger GET /api/traces/<id>  → {data:[{spans:[{traceID, spanID, operationName,
//          references, startTime µs, duration µs, tags, processID}], processes}]};
//          GET /api/traces?service&tags&start&end&limit → the same, many traces.
// Backends index spans a few seconds after they are sent: a trace not found yet (404, or
// an empty answer) is asked again until `waitMs` has passed.
import { request } from 'undici';
import { normaliseTraces, type AttributeValue, type StoredSpan, type TraceStore } from './trace-store.ts';

export interface TraceSource {
  readonly name: 'local' | 'tempo' | 'jaeger';
  /** The spans of one trace; [] when the backend has none (after waiting up to `waitMs`). */
  fetchTrace(traceId: string, opts?: { waitMs?: number }): Promise<StoredSpan[]>;
  /** Trace ids matching a backend query in a window (TraceQL for Tempo, service + tags for Jaeger). */
  searchTraceIds?(query: TraceQuery): Promise<string[]>;
}

export interface TraceQuery {
  fromMs: number;
  toMs: number;
  limit?: number;
  /** Tempo: a TraceQL query such as `{ resource.service.name = "graph-api" }`. */
  traceql?: string;
  /** Jaeger: a service and span tags. */
  service?: string;
  tags?: Record<string, string>;
}

export class TraceBackendError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET JSON; undefined on 404 (not there yet); a clear error naming the URL otherwise. */
async function getJsonWith(url: URL, timeoutMs: number, headers: Record<string, string> = {}): Promise<unknown> {
  let res;
  try {
    res = await request(url, { method: 'GET', headers: { accept: 'application/json', ...headers }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (err) {
    throw new TraceBackendError(`GET ${url} failed: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode === 404) return undefined;
  if (res.statusCode >= 400) throw new TraceBackendError(`GET ${url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new TraceBackendError(`GET ${url} answered ${res.statusCode} with something that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** Asks until the trace has spans or the wait is over (backoff 100 ms → 1 s). */
async function withWait(fetchOnce: () => Promise<StoredSpan[]>, waitMs: number): Promise<StoredSpan[]> {
  const deadline = Date.now() + waitMs;
  for (let pause = 100; ; pause = Math.min(pause * 2, 1_000)) {
    const spans = await fetchOnce();
    if (spans.length || Date.now() + pause > deadline) return spans;
    await sleep(pause);
  }
}

// ── Tempo ──

const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
/** Tempo's JSON follows the protobuf mapping (ids base64); some versions write hex. */
const toHex = (id: unknown, bytes: number) =>
  typeof id !== 'string' || !id ? undefined : new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');

/** Pure: a Tempo trace-by-id answer (any of its shapes) as stored spans. */
export function tempoTraceToSpans(body: unknown): StoredSpan[] {
  const b = (body ?? {}) as { batches?: unknown[]; resourceSpans?: unknown[]; trace?: { resourceSpans?: unknown[] } };
  const resourceSpans = (b.trace?.resourceSpans ?? b.resourceSpans ?? b.batches ?? []) as Array<Record<string, unknown>>;
  const otlp = {
    resourceSpans: resourceSpans.map((rs) => ({
      resource: rs.resource,
      scopeSpans: ((rs.scopeSpans ?? rs.instrumentationLibrarySpans ?? []) as Array<{ spans?: Array<Record<string, unknown>> }>).map((ss) => ({
        spans: (ss.spans ?? []).map((s) => ({
          ...s,
          traceId: toHex(s.traceId, 16),
          spanId: toHex(s.spanId, 8),
          parentSpanId: toHex(s.parentSpanId, 8),
          kind: typeof s.kind === 'string' ? (KIND_NAMES[s.kind] ?? 0) : s.kind,
          status: {
            code: (() => {
              const c = (s.status as { code?: unknown } | undefined)?.code;
              return typeof c === 'string' ? (STATUS_NAMES[c] ?? 0) : c;
            })(),
          },
        })),
      })),
    })),
  };
  return normaliseTraces(otlp, 'hex').spans;
}

/** Options of a trace backend's client: a time limit, and headers for a guarded URL (a forwarder through the API server). */
export interface TraceBackendOptions {
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export function tempoTraceSource(baseUrl: string, opts: TraceBackendOptions = {}): TraceSource {
  const timeout = opts.timeoutMs ?? 10_000;
  const getJson = (url: URL, ms: number) => getJsonWith(url, ms, opts.headers);
  return {
    name: 'tempo',
    fetchTrace: (traceId, o = {}) => withWait(async () => tempoTraceToSpans(await getJson(new URL(`/api/traces/${traceId}`, baseUrl), timeout)), o.waitMs ?? 0),
    async searchTraceIds(q) {
      const url = new URL('/api/search', baseUrl);
      url.searchParams.set('q', q.traceql ?? '{}');
      url.searchParams.set('start', String(Math.floor(q.fromMs / 1000)));
      url.searchParams.set('end', String(Math.ceil(q.toMs / 1000)));
      url.searchParams.set('limit', String(q.limit ?? 100));
      const body = (await getJson(url, timeout)) as { traces?: Array<{ traceID?: string }> } | undefined;
      return (body?.traces ?? []).map((t) => toHex(t.traceID?.padStart(32, '0'), 16)).filter((x): x is string => !!x);
    },
  };
}

// ── Jaeger ──

interface JaegerTag {
  key: string;
  type?: string;
  value: AttributeValue;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags?: JaegerTag[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags?: JaegerTag[] }>;
}

const JAEGER_KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

/** Pure: Jaeger's trace JSON as stored spans (µs → ms; kind and status from the OTel tags). */
export function jaegerTraceToSpans(trace: JaegerTrace): StoredSpan[] {
  return trace.spans.map((s) => {
    const tags = Object.fromEntries((s.tags ?? []).map((t) => [t.key, t.value])) as Record<string, AttributeValue>;
    const parent = s.references?.find((r) => r.refType === 'CHILD_OF') ?? s.references?.[0];
    const status = tags['otel.status_code'] === 'ERROR' || tags.error === true || tags.error === 'true' ? 2 : tags['otel.status_code'] === 'OK' ? 1 : 0;
    return {
      traceId: s.traceID.padStart(32, '0').toLowerCase(),
      spanId: s.spanID.padStart(16, '0').toLowerCase(),
      ...(parent ? { parentSpanId: parent.spanID.padStart(16, '0').toLowerCase() } : {}),
      name: s.operationName,
      service: trace.processes[s.processID]?.serviceName ?? 'unknown_service',
      kind: JAEGER_KINDS[String(tags['span.kind'] ?? '')] ?? 0,
      startMs: s.startTime / 1000,
      endMs: (s.startTime + s.duration) / 1000,
      statusCode: status,
      attributes: tags,
    };
  });
}

export function jaegerTraceSource(baseUrl: string, opts: TraceBackendOptions = {}): TraceSource {
  const timeout = opts.timeoutMs ?? 10_000;
  const getJson = (url: URL, ms: number) => getJsonWith(url, ms, opts.headers);
  return {
    name: 'jaeger',
    fetchTrace: (traceId, o = {}) =>
      withWait(async () => {
        const body = (await getJson(new URL(`/api/traces/${traceId}`, baseUrl), timeout)) as { data?: JaegerTrace[] } | undefined;
        return (body?.data ?? []).flatMap(jaegerTraceToSpans);
      }, o.waitMs ?? 0),
    async searchTraceIds(q) {
      const url = new URL('/api/traces', baseUrl);
      if (!q.service) throw new TraceBackendError('a Jaeger search needs a service');
      url.searchParams.set('service', q.service);
      if (q.tags) url.searchParams.set('tags', JSON.stringify(q.tags));
      url.searchParams.set('start', String(Math.floor(q.fromMs * 1000)));
      url.searchParams.set('end', String(Math.ceil(q.toMs * 1000)));
      url.searchParams.set('limit', String(q.limit ?? 100));
      const body = (await getJson(url, timeout)) as { data?: JaegerTrace[] } | undefined;
      return (body?.data ?? []).map((t) => t.traceID.padStart(32, '0').toLowerCase());
    },
  };
}

// ── local, and the choice ──

export function localTraceSource(store: TraceStore): TraceSource {
  return { name: 'local', fetchTrace: (traceId, o = {}) => withWait(async () => store.trace(traceId), o.waitMs ?? 0) };
}

/** The environment's trace backend: Tempo or Jaeger when its config names one (base URLs), else the harness's receiver. */
export function selectTraceSource(
  traces: { tempo?: string | undefined; jaeger?: string | undefined } | undefined,
  local: TraceStore,
  headers?: Record<string, string>,
): TraceSource {
  const opts = headers ? { headers } : {};
  if (traces?.tempo) return tempoTraceSource(traces.tempo, opts);
  if (traces?.jaeger) return jaegerTraceSource(traces.jaeger, opts);
  return localTraceSource(local);
}

/** Many traces at once, a few requests in flight at a time. */
export async function fetchTraces(
  source: TraceSource,
  traceIds: readonly string[],
  opts: { waitMs?: number; concurrency?: number } = {},
): Promise<Map<string, StoredSpan[]>> {
  const out = new Map<string, StoredSpan[]>();
  const queue = [...new Set(traceIds)];
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 4, queue.length) }, async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift())
      out.set(id, await source.fetchTrace(id, opts.waitMs !== undefined ? { waitMs: opts.waitMs } : {}));
  });
  await Promise.all(workers);
  return out;
}
