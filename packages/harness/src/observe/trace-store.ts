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

export interface TraceStoreOptions {
  /** Most spans held at once. */
  capacity?: number;
  /** Most (estimated) bytes held at once: a few huge spans must not exhaust memory either. */
  maxBytes?: number;
  /**
   * service.name values of the run's own services (the local stage's is 'graph-api', for its
   * server spans and its page's Faro spans alike). Their spans push others out when the store
   * is full and are never pushed out by them.
   */
  protectedServices?: Iterable<string>;
}

/** What the store did with one offered batch. */
export interface OfferResult {
  accepted: number;
  /** Spans of other services refused because the store is full (final: not worth a retry). */
  refused: number;
  /** Nothing was stored: the run's own spans do not fit even after pushing all others out (retry later). */
  full: boolean;
}

function valueCost(v: AttributeValue): number {
  if (typeof v === 'string') return 2 * v.length + 16;
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + valueCost(x), 16);
  return 16;
}

/** A rough estimate of a span's heap size: enough to bound memory, not to account it exactly. */
export function spanCost(s: StoredSpan): number {
  let n = 320 + 2 * (s.name.length + s.service.length);
  for (const k in s.attributes) n += 2 * k.length + valueCost(s.attributes[k]!);
  return n;
}

type Foreign = { span: StoredSpan; cost: number };

export class TraceStore {
  private readonly byTrace = new Map<string, StoredSpan[]>();
  private readonly protectedServices: ReadonlySet<string>;
  /** Spans of other services, oldest first, from `foreignHead` on: the eviction order. */
  private foreign: Foreign[] = [];
  private foreignHead = 0;
  private foreignBytes = 0;
  private count = 0;
  private bytes = 0;
  private arrivedTotal = 0;
  private refusedTotal = 0;
  private evictedTotal = 0;
  readonly capacity: number;
  readonly maxBytes: number;

  constructor(options: number | TraceStoreOptions = {}) {
    const o = typeof options === 'number' ? { capacity: options } : options;
    this.capacity = o.capacity ?? 500_000;
    this.maxBytes = o.maxBytes ?? 512 * 1024 * 1024;
    this.protectedServices = new Set(o.protectedServices ?? []);
  }

  get size(): number {
    return this.count;
  }

  /** Spans accepted since the start, evicted ones included: grows on every arrival, even in a full store. */
  get arrivals(): number {
    return this.arrivedTotal;
  }

  /** Counters for the run's facts: how full the store is and what it turned away. */
  stats(): { size: number; bytes: number; capacity: number; maxBytes: number; foreign: number; refused: number; evicted: number } {
    const { count: size, bytes, capacity, maxBytes, refusedTotal: refused, evictedTotal: evicted } = this;
    return { size, bytes, capacity, maxBytes, foreign: this.foreignCount, refused, evicted };
  }

  /** With no protected services named, every span is the run's own (nothing to tell apart). */
  isProtected(span: Pick<StoredSpan, 'service'>): boolean {
    return this.protectedServices.size === 0 || this.protectedServices.has(span.service);
  }

  private get foreignCount(): number {
    return this.foreign.length - this.foreignHead;
  }

  /** Whether `n` more spans fit by count without pushing anything out. */
  hasRoomFor(n: number): boolean {
    return this.count + n <= this.capacity;
  }

  /**
   * Stores what fits: the run's own spans always (all or none of a batch: a batch half stored
   * would be retried twice), pushing the oldest spans of other services out when needed; then
   * other services' spans while there is room. Others are never kept at the expense of the run's own.
   */
  offer(spans: readonly StoredSpan[]): OfferResult {
    const own: StoredSpan[] = [];
    const others: StoredSpan[] = [];
    for (const s of spans) (this.isProtected(s) ? own : others).push(s);
    const ownCosts = own.map(spanCost);
    const ownBytes = ownCosts.reduce((a, b) => a + b, 0);
    const fitsOwn = own.length <= this.capacity - (this.count - this.foreignCount) && ownBytes <= this.maxBytes - (this.bytes - this.foreignBytes);
    if (!fitsOwn) return { accepted: 0, refused: 0, full: true };
    if (this.count + own.length > this.capacity || this.bytes + ownBytes > this.maxBytes) this.evictForeign(own.length, ownBytes);
    own.forEach((s, i) => this.put(s, ownCosts[i]!));
    let taken = 0;
    for (const s of others) {
      const cost = spanCost(s);
      if (this.count + 1 > this.capacity || this.bytes + cost > this.maxBytes) break;
      this.put(s, cost);
      this.foreign.push({ span: s, cost });
      this.foreignBytes += cost;
      taken++;
    }
    const refused = others.length - taken;
    this.refusedTotal += refused;
    return { accepted: own.length + taken, refused, full: false };
  }

  /** `offer` for callers that only need the number stored. */
  add(spans: readonly StoredSpan[]): number {
    return this.offer(spans).accepted;
  }

  private put(s: StoredSpan, cost: number): void {
    const list = this.byTrace.get(s.traceId);
    if (list) list.push(s);
    else this.byTrace.set(s.traceId, [s]);
    this.count++;
    this.bytes += cost;
    this.arrivedTotal++;
  }

  /**
   * Pushes out the oldest foreign spans until `needCount` spans of `needBytes` fit, with a
   * 64th of the store as slack, so a flood inside one huge trace costs one pass over that
   * trace per batch, not one per span.
   */
  private evictForeign(needCount: number, needBytes: number): void {
    const maxCount = this.capacity - needCount - Math.floor(this.capacity / 64);
    const maxBytes = this.maxBytes - needBytes - Math.floor(this.maxBytes / 64);
    const doomed = new Set<StoredSpan>();
    while (this.foreignHead < this.foreign.length && (this.count > maxCount || this.bytes > maxBytes)) {
      const f = this.foreign[this.foreignHead++]!;
      doomed.add(f.span);
      this.count--;
      this.bytes -= f.cost;
      this.foreignBytes -= f.cost;
    }
    if (this.foreignHead > 1024 && this.foreignHead * 2 > this.foreign.length) {
      this.foreign = this.foreign.slice(this.foreignHead);
      this.foreignHead = 0;
    }
    const traces = new Set<string>();
    for (const s of doomed) traces.add(s.traceId);
    for (const id of traces) {
      const kept = this.byTrace.get(id)!.filter((s) => !doomed.has(s));
      if (kept.length) this.byTrace.set(id, kept);
      else this.byTrace.delete(id);
    }
    this.evictedTotal += doomed.size;
  }

  trace(traceId: string): StoredSpan[] {
    return this.byTrace.get(traceId.toLowerCase()) ?? [];
  }

  traceIds(): string[] {
    return [...this.byTrace.keys()];
  }

  allSpans(): StoredSpan[] {
    const out: StoredSpan[] = [];
    for (const list of this.byTrace.values()) for (const s of list) out.push(s);
    return out;
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
  // Arrivals, not size: a full store pushing foreign spans out keeps its size while spans arrive.
  let seen = store.arrivals;
  let lastArrival = t0;
  while (!complete()) {
    const now = Date.now();
    if (store.arrivals !== seen) {
      seen = store.arrivals;
      lastArrival = now;
    }
    if (now - lastArrival >= quietMs || now - t0 >= maxMs) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return Date.now() - t0;
}
