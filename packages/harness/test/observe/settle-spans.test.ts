// settleSpans waits for late span batches: it returns as soon as the traces are complete,
// keeps waiting while spans still arrive, and gives up once the exporter has gone quiet.
import { describe, expect, it } from 'vitest';
import { settleSpans, TraceStore, type StoredSpan } from '../../src/observe/trace-store.ts';

const span = (traceId: string, spanId: string): StoredSpan => ({
  traceId,
  spanId,
  name: 'x',
  service: 'graph-api',
  kind: 2,
  startMs: 0,
  endMs: 1,
  statusCode: 0,
  attributes: {},
});

describe('settleSpans', () => {
  it('returns when the trace is complete, even if its last batch came late', async () => {
    const store = new TraceStore();
    // Batches keep arriving every 100 ms; the trace is complete after the fifth.
    let n = 0;
    const feeder = setInterval(() => store.add([span('t1', `s${n++}`)]), 100);
    await settleSpans(store, () => store.trace('t1').length >= 5, { quietMs: 300, maxMs: 10_000, pollMs: 20 });
    clearInterval(feeder);
    expect(store.trace('t1').length).toBeGreaterThanOrEqual(5);
  });

  it('stops waiting once nothing new arrives: a trace that will never be complete does not hang the run', async () => {
    const store = new TraceStore();
    store.add([span('t1', 'a')]);
    let checks = 0;
    await settleSpans(store, () => (checks++, false), { quietMs: 200, maxMs: 60_000, pollMs: 20 });
    // It gave up on quiet (a handful of polls), not on the 60 s bound.
    expect(checks).toBeGreaterThan(1);
    expect(checks).toBeLessThan(200);
  });
});
