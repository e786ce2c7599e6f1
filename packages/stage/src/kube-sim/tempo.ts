// A small Tempo of the simulation's own, on loopback: the stage's service exports OTLP/HTTP
// JSON to POST /v1/traces (bearer ingest token); Tempo's query API answers through the
// simulation's service proxy (monitoring/tempo:3200, which adds the query token):
//   GET /api/traces/<id>  → { batches: [ <resourceSpans…> ] }  (404 when unknown)
//   GET /api/search?q=<TraceQL>&start&end&limit → { traces: [{ traceID, rootServiceName, … }] }
//   GET /ready
// The store is bounded (oldest traces go first); bodies are bounded and JSON only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { listenOnLoopback } from '../ports.ts';
import { randomSecret, sameSecret } from '../secrets.ts';

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type Attribute = { key: string; value?: AnyValue };
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: Attribute[];
  status?: { code?: number | string };
  [k: string]: unknown;
}
interface ResourceSpans {
  resource?: { attributes?: Attribute[] };
  scopeSpans?: Array<{ scope?: unknown; spans?: OtlpSpan[] }>;
}

interface StoredTrace {
  batches: ResourceSpans[];
  spans: number;
  startMs: number;
  endMs: number;
  root?: { service: string; name: string };
}

export interface TempoOptions {
  /** Spans kept in all (default 100 000); the oldest traces are dropped beyond it. */
  maxSpans?: number;
  /** Largest OTLP body accepted, after decompression (default 8 MiB). */
  maxBodyBytes?: number;
}

/** A trace or span id as lowercase hex (OTLP JSON writes hex; the protobuf JSON mapping base64). */
export function idHex(id: unknown, bytes: number): string | undefined {
  if (typeof id !== 'string' || !id) return undefined;
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(id)) return id.toLowerCase();
  const hex = Buffer.from(id, 'base64').toString('hex');
  return hex.length === bytes * 2 ? hex : undefined;
}

const nanosToMs = (n: string | number | undefined) => (n === undefined ? 0 : Number(BigInt(String(n).split('.')[0]!) / 1_000_000n));

function attrValue(v: AnyValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

const attrs = (list: Attribute[] | undefined) => new Map((list ?? []).map((a) => [a.key, attrValue(a.value)]));

interface Condition {
  scope: 'resource' | 'span' | 'any' | 'intrinsic';
  key: string;
  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
  value: string | number | boolean;
}

/**
 * The TraceQL this Tempo understands: `{}` or one spanset of `&&`-joined comparisons —
 * `resource.x = "v"`, `span.x >= 500`, `.x != "v"`, `name = "v"`, `status = error`.
 * Throws on anything else (a query it cannot answer is refused, not answered wrongly).
 */
export function parseTraceQl(q: string): Condition[] {
  const m = /^\s*\{(.*)\}\s*$/s.exec(q || '{}');
  if (!m) throw new Error(`TraceQL not understood by the simulation's Tempo: ${q}`);
  const body = m[1]!.trim();
  if (!body) return [];
  return body.split('&&').map((part) => {
    const c = /^\s*(resource\.|span\.|\.)?([\w.-]+)\s*(=|!=|>=|<=|>|<)\s*(".*"|[\w.-]+)\s*$/.exec(part);
    if (!c) throw new Error(`TraceQL condition not understood by the simulation's Tempo: ${part.trim()}`);
    const raw = c[4]!;
    const value = raw.startsWith('"') ? raw.slice(1, -1) : raw === 'true' || raw === 'false' ? raw === 'true' : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    const scope = c[1] === 'resource.' ? 'resource' : c[1] === 'span.' ? 'span' : c[1] === '.' ? 'any' : 'intrinsic';
    if (scope === 'intrinsic' && !['name', 'status', 'duration'].includes(c[2]!)) throw new Error(`TraceQL intrinsic '${c[2]}' is not supported here`);
    return { scope, key: c[2]!, op: c[3] as Condition['op'], value };
  });
}

function compare(actual: unknown, op: Condition['op'], expected: string | number | boolean): boolean {
  if (actual === undefined) return op === '!=';
  switch (op) {
    case '=':
      return actual === expected || String(actual) === String(expected);
    case '!=':
      return String(actual) !== String(expected);
    default: {
      const a = Number(actual);
      const b = Number(expected);
      return op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;
    }
  }
}

const STATUS_NAMES: Record<string, string> = { 0: 'unset', 1: 'ok', 2: 'error', STATUS_CODE_UNSET: 'unset', STATUS_CODE_OK: 'ok', STATUS_CODE_ERROR: 'error' };

function spanMatches(span: OtlpSpan, resource: Map<string, unknown>, conds: Condition[]): boolean {
  const own = attrs(span.attributes);
  return conds.every((c) => {
    if (c.scope === 'intrinsic') {
      if (c.key === 'name') return compare(span.name, c.op, c.value);
      if (c.key === 'status') return compare(STATUS_NAMES[String(span.status?.code ?? 0)] ?? 'unset', c.op, c.value);
      return compare(nanosToMs(span.endTimeUnixNano) - nanosToMs(span.startTimeUnixNano), c.op, c.value);
    }
    if (c.scope === 'resource') return compare(resource.get(c.key), c.op, c.value);
    if (c.scope === 'span') return compare(own.get(c.key), c.op, c.value);
    return compare(own.get(c.key) ?? resource.get(c.key), c.op, c.value);
  });
}

export class SimTempo {
  readonly ingestToken = randomSecret();
  readonly queryToken = randomSecret();
  url = '';
  private server: Server | undefined;
  private readonly traces = new Map<string, StoredTrace>();
  private spanCount = 0;
  private readonly maxSpans: number;
  private readonly maxBody: number;

  constructor(opts: TempoOptions = {}) {
    this.maxSpans = opts.maxSpans ?? 100_000;
    this.maxBody = opts.maxBodyBytes ?? 8 << 20;
  }

  /** Where the stage's service exports (startStage's otlpTracesUrl) and the headers it sends. */
  get otlp(): { url: string; headers: Record<string, string> } {
    return { url: `${this.url}/v1/traces`, headers: { authorization: `Bearer ${this.ingestToken}` } };
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((err: unknown) => reply(res, 500, { error: (err as Error).message })));
    this.url = `http://127.0.0.1:${await listenOnLoopback(this.server)}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Stores OTLP JSON (an ExportTraceServiceRequest); returns the spans taken. */
  ingest(body: { resourceSpans?: ResourceSpans[] }): number {
    let taken = 0;
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attrs(rs.resource?.attributes).get('service.name') ?? 'unknown_service');
      // Split the batch by trace: each trace keeps its own resourceSpans, as Tempo answers them.
      const byTrace = new Map<string, Array<{ scope: unknown; spans: OtlpSpan[] }>>();
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? []) {
          const id = idHex(span.traceId, 16);
          if (!id) continue;
          const scopes = byTrace.get(id) ?? [];
          let entry = scopes.find((s) => s.scope === ss.scope);
          if (!entry) scopes.push((entry = { scope: ss.scope, spans: [] }));
          entry.spans.push(span);
          byTrace.set(id, scopes);
        }
      for (const [id, scopes] of byTrace) {
        const t = this.traces.get(id) ?? { batches: [], spans: 0, startMs: Infinity, endMs: 0 };
        t.batches.push({ resource: rs.resource ?? {}, scopeSpans: scopes.map((s) => ({ ...(s.scope ? { scope: s.scope } : {}), spans: s.spans })) });
        for (const s of scopes)
          for (const span of s.spans) {
            t.spans++;
            taken++;
            t.startMs = Math.min(t.startMs, nanosToMs(span.startTimeUnixNano));
            t.endMs = Math.max(t.endMs, nanosToMs(span.endTimeUnixNano));
            if (!span.parentSpanId) t.root = { service, name: span.name ?? '' };
          }
        // Re-inserted: the Map's order is oldest-updated first, what eviction drops.
        this.traces.delete(id);
        this.traces.set(id, t);
      }
    }
    this.spanCount += taken;
    for (const [id, t] of this.traces) {
      if (this.spanCount <= this.maxSpans) break;
      this.traces.delete(id);
      this.spanCount -= t.spans;
    }
    return taken;
  }

  trace(id: string): { batches: ResourceSpans[] } | undefined {
    const t = this.traces.get(id.toLowerCase().padStart(32, '0'));
    return t && { batches: structuredClone(t.batches) };
  }

  search(q: { traceql: string; startSec?: number; endSec?: number; limit: number }) {
    const conds = parseTraceQl(q.traceql);
    const out = [];
    for (const [id, t] of [...this.traces].reverse()) {
      if (out.length >= q.limit) break;
      if (q.startSec !== undefined && t.endMs < q.startSec * 1000) continue;
      if (q.endSec !== undefined && t.startMs > q.endSec * 1000) continue;
      const hit =
        !conds.length ||
        t.batches.some((b) => {
          const resource = attrs(b.resource?.attributes);
          return (b.scopeSpans ?? []).some((ss) => (ss.spans ?? []).some((s) => spanMatches(s, resource, conds)));
        });
      if (!hit) continue;
      out.push({
        traceID: id,
        rootServiceName: t.root?.service ?? '<root span not yet received>',
        rootTraceName: t.root?.name ?? '',
        startTimeUnixNano: String(BigInt(Math.round(t.startMs)) * 1_000_000n),
        durationMs: Math.max(0, Math.round(t.endMs - t.startMs)),
      });
    }
    return { traces: out, metrics: { inspectedTraces: this.traces.size } };
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://tempo');
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (req.method === 'POST' && url.pathname === '/v1/traces') {
      if (!sameSecret(bearer, this.ingestToken)) return reply(res, 401, { error: 'missing or wrong bearer token' }, true);
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
        return reply(res, 415, { error: 'OTLP/HTTP JSON only (content-type: application/json)' }, true);
      const raw = await readBounded(req, this.maxBody);
      if (!raw) return reply(res, 413, { error: `body larger than ${this.maxBody} bytes` }, true);
      let text: Buffer;
      try {
        text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw, { maxOutputLength: this.maxBody }) : raw;
      } catch {
        return reply(res, 400, { error: 'gzip body could not be decompressed within the size limit' });
      }
      let body: { resourceSpans?: ResourceSpans[] };
      try {
        body = JSON.parse(text.toString('utf8'));
      } catch {
        return reply(res, 400, { error: 'body is not JSON' });
      }
      this.ingest(body);
      return reply(res, 200, { partialSuccess: {} });
    }
    if (!sameSecret(bearer, this.queryToken)) return reply(res, 401, { error: 'missing or wrong bearer token' }, true);
    if (req.method !== 'GET') return reply(res, 405, { error: 'GET only' });
    if (url.pathname === '/ready') return reply(res, 200, 'ready');
    const tm = /^\/api\/(?:v2\/)?traces\/([0-9a-fA-F]{1,32})$/.exec(url.pathname);
    if (tm) {
      const t = this.trace(tm[1]!);
      return t ? reply(res, 200, t) : reply(res, 404, { error: `trace not found: ${tm[1]}` });
    }
    if (url.pathname === '/api/search') {
      const num = (k: string) => (url.searchParams.has(k) ? Number(url.searchParams.get(k)) : undefined);
      try {
        return reply(
          res,
          200,
          this.search({ traceql: url.searchParams.get('q') ?? '{}', startSec: num('start'), endSec: num('end'), limit: Math.min(num('limit') ?? 20, 1_000) }),
        );
      } catch (err) {
        return reply(res, 400, { error: (err as Error).message });
      }
    }
    if (url.pathname === '/api/echo') return reply(res, 200, 'echo');
    return reply(res, 404, { error: `no ${req.method} ${url.pathname}` });
  }
}

/** The body, or undefined when it is larger than `limit` (the rest is not read). */
async function readBounded(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: unknown, close = false) {
  if (res.headersSent) return void res.end();
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (close) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
