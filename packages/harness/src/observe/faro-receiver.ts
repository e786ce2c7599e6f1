// The Grafana Faro collector endpoint: the web SDK's JSON payload (meta, measurements
// such as web vitals, exceptions, logs, events, OTLP traces). Kept per session, with
// every trace id the browser mentioned, so a browser journey links to backend traces.
import type { HandlerResponse, ReceivedRequest } from './telemetry-server.ts';
import { normaliseTraces, type TraceStore } from './trace-store.ts';

type FaroTrace = { trace_id: string; span_id: string };
interface FaroItem {
  timestamp?: string;
  trace?: FaroTrace;
}
export interface FaroPayload {
  meta?: { app?: { name?: string; version?: string }; session?: { id?: string; attributes?: Record<string, string> }; page?: { url?: string } };
  measurements?: Array<FaroItem & { type: string; values: Record<string, number> }>;
  exceptions?: Array<FaroItem & { type: string; value: string }>;
  logs?: Array<FaroItem & { level: string; message: string }>;
  events?: Array<FaroItem & { name: string; attributes?: Record<string, string> }>;
  traces?: unknown;
}

export interface RumSession {
  sessionId: string;
  app: string;
  pages: string[];
  /** Web vitals and other measurements, latest value per name (lcp, fcp, cls, ttfb, inp…). */
  measurements: Record<string, number>;
  exceptions: Array<{ type: string; value: string; timestamp?: string }>;
  logs: Array<{ level: string; message: string }>;
  events: Array<{ name: string; attributes?: Record<string, string> }>;
  /** Trace ids seen in this session: from item trace contexts and from browser spans. */
  traceIds: Set<string>;
  payloads: number;
}

export interface RumLimits {
  sessions: number;
  /** Per session: pages, exceptions, logs and events each; trace ids; measurement names. */
  itemsPerSession: number;
  traceIdsPerSession: number;
  measurementNames: number;
  /** Longer strings are cut: a message or a URL, not a payload. */
  stringLength: number;
}

const DEFAULT_LIMITS: RumLimits = { sessions: 2_000, itemsPerSession: 1_000, traceIdsPerSession: 10_000, measurementNames: 100, stringLength: 2_048 };

const list = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : []);
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function stringRecord(x: unknown, cut: (s: unknown) => string): Record<string, string> | undefined {
  if (!isRecord(x)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const k in x) if (n++ < 32) out[cut(k)] = cut(x[k]);
  return out;
}

/** Sessions from the browser, bounded: a full store takes no new sessions, a full session no new items. */
export class RumStore {
  private readonly sessions = new Map<string, RumSession>();
  private readonly limits: RumLimits;
  /** Payloads of new sessions refused because the store was full; items cut off by a session's limits. */
  readonly dropped = { payloads: 0, items: 0 };

  constructor(limits: Partial<RumLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  get size(): number {
    return this.sessions.size;
  }

  private cut = (x: unknown): string => String(x ?? '').slice(0, this.limits.stringLength);

  /**
   * Folds one payload into the session it belongs to; undefined when the store is full and
   * the session is new. Fields of the wrong type are skipped, not trusted.
   */
  add(payload: FaroPayload, traces: TraceStore | undefined): RumSession | undefined {
    const { cut, limits } = this;
    const sessionId = cut(payload.meta?.session?.id ?? 'no-session');
    let s = this.sessions.get(sessionId);
    if (!s) {
      if (this.sessions.size >= limits.sessions) {
        this.dropped.payloads++;
        return undefined;
      }
      const app = cut(payload.meta?.app?.name ?? 'unknown');
      s = { sessionId, app, pages: [], measurements: {}, exceptions: [], logs: [], events: [], traceIds: new Set(), payloads: 0 };
      this.sessions.set(sessionId, s);
    }
    const session = s;
    session.payloads++;
    const room = <T>(items: T[], item: T) => (items.length < limits.itemsPerSession ? items.push(item) : this.dropped.items++);
    const noteId = (id: unknown) => {
      if (typeof id !== 'string' || !/^[0-9a-fA-F]{32}$/.test(id)) return;
      if (session.traceIds.size < limits.traceIdsPerSession) session.traceIds.add(id.toLowerCase());
      else this.dropped.items++;
    };
    const noteTrace = (item: FaroItem) => noteId(isRecord(item.trace) ? item.trace.trace_id : undefined);
    const page = payload.meta?.page?.url;
    if (typeof page === 'string' && !session.pages.includes(cut(page))) room(session.pages, cut(page));
    for (const m of list<FaroItem & { values?: unknown }>(payload.measurements)) {
      if (!isRecord(m)) continue;
      if (isRecord(m.values)) {
        for (const [k, v] of Object.entries(m.values)) {
          if (typeof v !== 'number') continue;
          if (k in session.measurements || Object.keys(session.measurements).length < limits.measurementNames) session.measurements[cut(k)] = v;
          else this.dropped.items++;
        }
      }
      noteTrace(m);
    }
    for (const e of list<FaroItem & { type?: unknown; value?: unknown }>(payload.exceptions)) {
      if (!isRecord(e)) continue;
      room(session.exceptions, { type: cut(e.type), value: cut(e.value), ...(typeof e.timestamp === 'string' ? { timestamp: cut(e.timestamp) } : {}) });
      noteTrace(e);
    }
    for (const l of list<FaroItem & { level?: unknown; message?: unknown }>(payload.logs)) {
      if (!isRecord(l)) continue;
      room(session.logs, { level: cut(l.level), message: cut(l.message) });
      noteTrace(l);
    }
    for (const e of list<FaroItem & { name?: unknown; attributes?: unknown }>(payload.events)) {
      if (!isRecord(e)) continue;
      const attributes = stringRecord(e.attributes, cut);
      room(session.events, { name: cut(e.name), ...(attributes ? { attributes } : {}) });
      noteTrace(e);
    }
    if (payload.traces) {
      const { spans } = normaliseTraces(payload.traces, 'hex');
      for (const span of spans) noteId(span.traceId);
      // Browser spans are best effort: a full trace store's refusals show in its own counters.
      traces?.offer(spans);
    }
    return session;
  }

  session(id: string): RumSession | undefined {
    return this.sessions.get(id);
  }

  /**
   * The link from a browser session to the backend: each trace id the session mentioned,
   * with the spans of it that reached the trace store (none yet: the backend trace is missing).
   */
  linkedTraces(sessionId: string, traces: TraceStore): Array<{ traceId: string; spans: number; services: string[] }> {
    const s = this.sessions.get(sessionId);
    if (!s) return [];
    return [...s.traceIds].map((traceId) => {
      const spans = traces.trace(traceId);
      return { traceId, spans: spans.length, services: [...new Set(spans.map((x) => x.service))].sort() };
    });
  }

  all(): RumSession[] {
    return [...this.sessions.values()];
  }
}

export function faroHandler(rum: RumStore, traces?: TraceStore) {
  return (req: ReceivedRequest): HandlerResponse => {
    let payload: FaroPayload;
    try {
      payload = JSON.parse(req.body.toString('utf8')) as FaroPayload;
    } catch {
      return { status: 400, contentType: 'text/plain', body: 'not a Faro JSON payload' };
    }
    if (!isRecord(payload) || !isRecord(payload.meta)) return { status: 400, contentType: 'text/plain', body: 'a Faro payload has a meta object' };
    if (!rum.add(payload, traces)) return { status: 429, headers: { 'retry-after': '30' }, contentType: 'text/plain', body: 'RUM store full: no new sessions' };
    return { status: 202, contentType: 'application/json', body: '{}' };
  };
}
