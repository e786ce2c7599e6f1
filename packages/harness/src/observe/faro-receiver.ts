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

export class RumStore {
  private readonly sessions = new Map<string, RumSession>();

  /** Pure with respect to its input: folds one payload into the session it belongs to. */
  add(payload: FaroPayload, traces: TraceStore | undefined): RumSession {
    const sessionId = payload.meta?.session?.id ?? 'no-session';
    let s = this.sessions.get(sessionId);
    if (!s) {
      s = { sessionId, app: payload.meta?.app?.name ?? 'unknown', pages: [], measurements: {}, exceptions: [], logs: [], events: [], traceIds: new Set(), payloads: 0 };
      this.sessions.set(sessionId, s);
    }
    s.payloads++;
    const page = payload.meta?.page?.url;
    if (page && !s.pages.includes(page)) s.pages.push(page);
    const noteTrace = (item: FaroItem) => item.trace?.trace_id && s!.traceIds.add(item.trace.trace_id.toLowerCase());
    for (const m of payload.measurements ?? []) {
      Object.assign(s.measurements, m.values);
      noteTrace(m);
    }
    for (const e of payload.exceptions ?? []) {
      s.exceptions.push({ type: e.type, value: e.value, ...(e.timestamp ? { timestamp: e.timestamp } : {}) });
      noteTrace(e);
    }
    for (const l of payload.logs ?? []) {
      s.logs.push({ level: l.level, message: l.message });
      noteTrace(l);
    }
    for (const e of payload.events ?? []) {
      s.events.push({ name: e.name, ...(e.attributes ? { attributes: e.attributes } : {}) });
      noteTrace(e);
    }
    if (payload.traces) {
      const { spans } = normaliseTraces(payload.traces, 'hex');
      for (const span of spans) s.traceIds.add(span.traceId);
      traces?.add(spans);
    }
    return s;
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
    if (typeof payload !== 'object' || payload === null || !payload.meta) return { status: 400, contentType: 'text/plain', body: 'a Faro payload has a meta object' };
    rum.add(payload, traces);
    return { status: 202, contentType: 'application/json', body: '{}' };
  };
}
