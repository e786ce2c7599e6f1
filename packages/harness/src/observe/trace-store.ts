// Spans as the harness keeps them, whatever encoding they arrived in, indexed by trace.
// Trace coverage and the evidence pack's traces/ read from here.

export type AttributeValue = string | number | boolean | Array<string | number | boolean>;

export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  kind: number;
  startMs: number;
  endMs: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  attributes: Record<string, AttributeValue>;
}

type RawAnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: RawAnyValue[] };
  kvlistValue?: unknown;
  bytesValue?: string;
};
type RawKeyValue = { key: string; value?: RawAnyValue };
type RawSpan = {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: RawKeyValue[];
  status?: { code?: number };
};
type RawRequest = { resourceSpans?: Array<{ resource?: { attributes?: RawKeyValue[] }; scopeSpans?: Array<{ spans?: RawSpan[] }> }> };

function scalar(v: RawAnyValue | undefined): AttributeValue {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => scalar(x) as string | number | boolean);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return JSON.stringify(v.kvlistValue ?? null);
}

function attributes(list: RawKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) out[kv.key] = scalar(kv.value);
  return out;
}

/** OTLP/JSON carries ids as hex; protobuf bytes arrive here as base64. */
function normaliseId(id: string | undefined, encoding: 'hex' | 'base64'): string {
  if (!id) return '';
  return encoding === 'hex' ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

const nanosToMs = (n: string | number | undefined) => (n === undefined ? 0 : Number(BigInt(String(n)) / 1000n) / 1000);

/**
 * Pure: an OTLP export request (JSON shape) to stored spans, plus the spans rejected
 * as malformed (OTLP partial success) with the reason.
 */
export function normaliseTraces(request: unknown, idEncoding: 'hex' | 'base64'): { spans: StoredSpan[]; rejected: number; reasons: string[] } {
  const spans: StoredSpan[] = [];
  const reasons: string[] = [];
  let rejected = 0;
  for (const rs of (request as RawRequest).resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    const service = typeof resource['service.name'] === 'string' ? (resource['service.name'] as string) : 'unknown_service';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const traceId = normaliseId(s.traceId, idEncoding);
        const spanId = normaliseId(s.spanId, idEncoding);
        if (!/^[0-9a-f]{32}$/.test(traceId) || !/^[0-9a-f]{16}$/.test(spanId) || /^0+$/.test(traceId)) {
          rejected++;
          reasons.push(`span '${s.name ?? '?'}' has an invalid trace or span id`);
          continue;
        }
        const parent = normaliseId(s.parentSpanId, idEncoding);
        spans.push({
          traceId,
          spanId,
          ...(parent ? { parentSpanId: parent } : {}),
          name: s.name ?? '',
          service,
          kind: s.kind ?? 0,
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          statusCode: s.status?.code ?? 0,
          attributes: attributes(s.attributes),
        });
      }
    }
  }
  return { spans, rejected, reasons };
}

export class TraceStore {
  private readonly byTrace = new Map<string, StoredSpan[]>();
  private count = 0;

  constructor(readonly capacity = 500_000) {}

  get size(): number {
    return this.count;
  }

  hasRoomFor(n: number): boolean {
    return this.count + n <= this.capacity;
  }

  add(spans: StoredSpan[]): void {
    for (const s of spans) {
      const list = this.byTrace.get(s.traceId);
      if (list) list.push(s);
      else this.byTrace.set(s.traceId, [s]);
      this.count++;
    }
  }

  trace(traceId: string): StoredSpan[] {
    return this.byTrace.get(traceId.toLowerCase()) ?? [];
  }

  traceIds(): string[] {
    return [...this.byTrace.keys()];
  }

  allSpans(): StoredSpan[] {
    return [...this.byTrace.values()].flat();
  }
}

export interface SettleOptions {
  /** Stop waiting once no span has arrived for this long (the exporter has gone quiet). */
  quietMs?: number;
  /** Never wait longer than this. */
  maxMs?: number;
  pollMs?: number;
}

/**
 * Waits for spans still in flight: until `complete()` holds, or nothing new has arrived for
 * `quietMs`, or `maxMs` has passed. Exporters send in batches, and on a busy machine a batch
 * can be seconds late; a fixed pause would then count a trace as incomplete that was merely
 * slow. Returns how long it waited.
 */
export async function settleSpans(store: TraceStore, complete: () => boolean, opts: SettleOptions = {}): Promise<number> {
  const { quietMs = 1_500, maxMs = 15_000, pollMs = 100 } = opts;
  const t0 = Date.now();
  let seen = store.size;
  let lastArrival = t0;
  while (!complete()) {
    const now = Date.now();
    if (store.size !== seen) {
      seen = store.size;
      lastArrival = now;
    }
    if (now - lastArrival >= quietMs || now - t0 >= maxMs) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return Date.now() - t0;
}
