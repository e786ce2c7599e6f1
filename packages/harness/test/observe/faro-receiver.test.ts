import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { faroHandler, RumStore, type FaroPayload } from '../../src/observe/faro-receiver.ts';
import { TraceStore } from '../../src/observe/trace-store.ts';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

const payload: FaroPayload = {
  meta: { app: { name: 'graph-api-web' }, session: { id: 's-1' }, page: { url: 'http://127.0.0.1/' } },
  measurements: [{ type: 'web-vitals', values: { lcp: 812.5, fcp: 640, cls: 0.01, ttfb: 42 }, timestamp: '2026-11-22T22:00:00Z' }],
  exceptions: [{ type: 'TypeError', value: 'x is undefined', timestamp: '2026-11-22T22:00:01Z', trace: { trace_id: traceId, span_id: '00f067aa0ba902b7' } }],
  traces: {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'graph-api-web' } }] },
        scopeSpans: [{ spans: [{ traceId, spanId: '00f067aa0ba902b7', name: 'HTTP POST', kind: 3, startTimeUnixNano: '1763848800000000000', endTimeUnixNano: '1763848800120000000' }] }],
      },
    ],
  },
};

describe('Faro collector endpoint', () => {
  const rum = new RumStore();
  const traces = new TraceStore();
  const server = new TelemetryServer().route('/collect', faroHandler(rum, traces));
  let url = '';
  beforeAll(async () => {
    url = `${await server.listen()}/collect`;
  });
  afterAll(() => server.close());

  it('keeps web vitals, exceptions and browser spans per session, linked by trace id', async () => {
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:9' }, body: JSON.stringify(payload) });
    expect(res.statusCode).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    await res.body.dump();
    const s = rum.session('s-1')!;
    expect(s.measurements).toMatchObject({ lcp: 812.5, fcp: 640, cls: 0.01, ttfb: 42 });
    expect(s.exceptions[0]).toMatchObject({ type: 'TypeError' });
    expect([...s.traceIds]).toEqual([traceId]);
    expect(traces.trace(traceId)[0]).toMatchObject({ name: 'HTTP POST', service: 'graph-api-web', endMs: 1763848800120 });
  });

  it('answers CORS preflight and rejects payloads without meta', async () => {
    const pre = await request(url, { method: 'OPTIONS' });
    expect(pre.statusCode).toBe(204);
    await pre.body.dump();
    const bad = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"logs":[]}' });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
  });
});
