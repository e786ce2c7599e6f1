// The trace store's bounds: spans and bytes capped, the run's own services first. A full
// store pushes other services' spans out for the run's own and never the other way round.
import { describe, expect, it } from 'vitest';
import { spanCost, TraceStore, type StoredSpan } from '../../src/observe/trace-store.ts';

let n = 0;
const span = (service: string, traceId = (++n).toString(16).padStart(32, '0'), attributes: StoredSpan['attributes'] = {}): StoredSpan => ({
  traceId,
  spanId: (++n).toString(16).padStart(16, '0'),
  name: 'x',
  service,
  kind: 2,
  startMs: 0,
  endMs: 1,
  statusCode: 0,
  attributes,
});

describe('TraceStore bounds', () => {
  it("without protected services, every span is the run's own: all of a batch or none", () => {
    const store = new TraceStore(3);
    expect(store.offer([span('a'), span('b')])).toEqual({ accepted: 2, refused: 0, full: false });
    expect(store.offer([span('a'), span('b')])).toEqual({ accepted: 0, refused: 0, full: true });
    expect(store.size).toBe(2);
  });

  it('pushes the oldest foreign spans out for own spans, refuses foreign spans once full', () => {
    const store = new TraceStore({ capacity: 128, protectedServices: ['graph-api'] });
    const early = span('graph-api');
    store.offer([early]);
    const foreign = Array.from({ length: 200 }, () => span('flooder'));
    expect(store.offer(foreign)).toEqual({ accepted: 127, refused: 73, full: false });
    const own = Array.from({ length: 50 }, () => span('graph-api'));
    expect(store.offer(own)).toEqual({ accepted: 50, refused: 0, full: false });
    expect(store.size).toBeLessThanOrEqual(128);
    expect(store.trace(early.traceId)).toEqual([early]);
    for (const s of own) expect(store.trace(s.traceId)).toEqual([s]);
    // The oldest foreign spans went first.
    expect(store.trace(foreign[0]!.traceId)).toEqual([]);
    expect(store.trace(foreign[126]!.traceId)).toHaveLength(1);
    const stats = store.stats();
    expect(stats.refused).toBe(73);
    expect(stats.evicted).toBeGreaterThanOrEqual(50);
    expect(stats.foreign + 51).toBe(stats.size);
  });

  it('keeps a trace shared by own and foreign spans, minus the evicted foreign ones', () => {
    const store = new TraceStore({ capacity: 64, protectedServices: ['graph-api'] });
    const shared = 'f'.repeat(32);
    const mine = span('graph-api', shared);
    store.offer([mine, ...Array.from({ length: 63 }, () => span('browser-ext', shared))]);
    store.offer([span('graph-api')]);
    expect(store.trace(shared)[0]).toBe(mine);
    expect(store.trace(shared).length).toBeLessThan(64);
  });

  it('says full (retry) when own spans alone fill it, and never evicts own spans', () => {
    const store = new TraceStore({ capacity: 4, protectedServices: ['graph-api'] });
    store.offer([span('graph-api'), span('graph-api'), span('graph-api')]);
    expect(store.offer([span('graph-api'), span('graph-api')])).toEqual({ accepted: 0, refused: 0, full: true });
    expect(store.size).toBe(3);
  });

  it('caps the bytes held: a few huge spans cannot exhaust memory', () => {
    const big = { blob: 'x'.repeat(100_000) };
    const store = new TraceStore({ capacity: 1_000_000, maxBytes: 2_000_000, protectedServices: ['graph-api'] });
    for (let i = 0; i < 50; i++) store.offer([span('flooder', undefined, big)]);
    const { bytes, size } = store.stats();
    expect(bytes).toBeLessThanOrEqual(2_000_000);
    expect(size).toBeLessThan(10);
    expect(spanCost(span('x', undefined, big))).toBeGreaterThan(200_000);
    expect(store.offer([span('graph-api', undefined, big)]).accepted).toBe(1);
    expect(store.stats().bytes).toBeLessThanOrEqual(2_000_000);
  });

  it('counts arrivals even while a full store keeps its size, so settling sees spans still coming', () => {
    const store = new TraceStore({ capacity: 10, protectedServices: ['graph-api'] });
    store.offer(Array.from({ length: 10 }, () => span('flooder')));
    const before = store.arrivals;
    store.offer([span('graph-api')]);
    expect(store.size).toBeLessThanOrEqual(10);
    expect(store.arrivals).toBe(before + 1);
  });
});
