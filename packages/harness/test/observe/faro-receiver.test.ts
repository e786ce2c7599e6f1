import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { TelemetryServer } from '../../src/observe/telemetry-server.ts';
import { faroHandler, RumStore, type FaroPayload } from '../../src/observe/faro-receiver.ts';
import { TraceStore } from '../../src/observe/trace-store.ts';
import { gzipBomb, withTicker } from './receiver-support.ts';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

const payload: FaroPayload = {
  meta: { app: { name: 'graph-api-web' }, session: { id: 's-1' }, page: { url: 'http://127.0.0.1/' } },
  measurements: [{ type: 'web-vitals', values: { lcp: 812.5, fcp: 640, cls: 0.01, ttfb: 42 }, timestamp: '2026-11-22T22:00:00Z' }],
  exceptions: [{ type: 'TypeError', value: 'x is undefined', timestamp: '2026-11-22T22:00:01Z', trace: { trace_id: traceId, span_id: '00f067aa0ba902b7' } }],
  traces: {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'graph-api-web' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: '00f067aa0ba902b7',
                name: 'HTTP POST',
                kind: 3,
                startTimeUnixNano: '1763848800000000000',
                endTimeUnixNano: '1763848800120000000',
              },
            ],
          },
        ],
      },
    ],
  },
};

describe('Faro collector endpoint', () => {
  const rum = new RumStore();
  const traces = new TraceStore();
  const page = 'http://127.0.0.1:9';
  const server = new TelemetryServer().route('/collect', faroHandler(rum, traces)).allowOrigin(page);
  let url = '';
  const auth = { authorization: `Bearer ${server.faroToken}` };
  beforeAll(async () => {
    url = `${await server.listen()}/collect`;
  });
  afterAll(() => server.close());

  it('keeps web vitals, exceptions and browser spans per session, linked by trace id', async () => {
    const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', origin: page }, body: JSON.stringify(payload) });
    expect(res.statusCode).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe(page);
    expect(res.headers.vary).toBe('Origin');
    await res.body.dump();
    const s = rum.session('s-1')!;
    expect(s.measurements).toMatchObject({ lcp: 812.5, fcp: 640, cls: 0.01, ttfb: 42 });
    expect(s.exceptions[0]).toMatchObject({ type: 'TypeError' });
    expect([...s.traceIds]).toEqual([traceId]);
    expect(traces.trace(traceId)[0]).toMatchObject({ name: 'HTTP POST', service: 'graph-api-web', endMs: 1763848800120 });
  });

  it('answers CORS preflight for the registered page only, and rejects payloads without meta', async () => {
    const asking = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' };
    const pre = await request(url, { method: 'OPTIONS', headers: { origin: page, ...asking } });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe(page);
    expect(String(pre.headers['access-control-allow-headers'])).toMatch(/x-api-key/);
    await pre.body.dump();
    const stranger = await request(url, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(stranger.statusCode).toBe(403);
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
    await stranger.body.dump();
    const bad = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"logs":[]}' });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
  });

  it('takes the token as the Faro SDK sends it (x-api-key) and refuses posts without it or from other pages', async () => {
    const post = async (headers: Record<string, string>) => {
      const body = JSON.stringify({ meta: { session: { id: 's-2' } } });
      const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      await res.body.dump();
      return res.statusCode;
    };
    expect(await post({ origin: page })).toBe(401);
    expect(await post({ origin: page, authorization: `Bearer ${server.otlpToken}` })).toBe(401);
    expect(await post({ origin: 'http://evil.example', ...auth })).toBe(403);
    expect(rum.session('s-2')).toBeUndefined();
    expect(await post({ origin: page, 'x-api-key': server.faroToken })).toBe(202);
    expect(rum.session('s-2')?.payloads).toBe(1);
  });

  it('answers 413 to a body over the limit and to a gzip bomb, without blocking the event loop', async () => {
    const big = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    expect(big.statusCode).toBe(413);
    await big.body.dump();
    // 512 MiB of zeros: its gzip (~0.5 MB) is under the 1 MiB wire limit of /collect, so the decoded cap must stop it.
    const bomb = await gzipBomb(512);
    const { result, maxGapMs, ticks } = await withTicker(async () => {
      const res = await request(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
      return { status: res.statusCode, text: await res.body.text() };
    });
    expect(result.status).toBe(413);
    expect(result.text).toMatch(/decoded body is over the limit/);
    console.log(`gzip bomb to /collect: ${ticks} ticks, longest gap ${maxGapMs.toFixed(0)} ms`);
    expect(maxGapMs).toBeLessThan(1_000);
  });
});

describe('RUM store bounds', () => {
  it('caps sessions, items per session and string lengths; a full store refuses new sessions with 429', async () => {
    const rum = new RumStore({ sessions: 3, itemsPerSession: 5, stringLength: 64 });
    const server = new TelemetryServer().route('/collect', faroHandler(rum));
    const base = await server.listen();
    try {
      const post = async (session: string) => {
        const logs = Array.from({ length: 50 }, (_, i) => ({ level: 'info', message: `${i} ${'x'.repeat(10_000)}` }));
        const headers = { authorization: `Bearer ${server.faroToken}`, 'content-type': 'application/json' };
        const res = await request(`${base}/collect`, { method: 'POST', headers, body: JSON.stringify({ meta: { session: { id: session } }, logs }) });
        await res.body.dump();
        return res.statusCode;
      };
      const statuses = [];
      for (let i = 0; i < 10; i++) statuses.push(await post(`s-${i}`));
      expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429, 429, 429]);
      expect(await post('s-0')).toBe(202); // a known session still reports
      expect(rum.size).toBe(3);
      const s0 = rum.session('s-0')!;
      expect(s0.logs).toHaveLength(5);
      expect(s0.logs[0]!.message).toHaveLength(64);
      expect(rum.dropped).toEqual({ payloads: 7, items: 3 * 45 + 50 });
    } finally {
      await server.close();
    }
  });

  it('skips fields of the wrong type instead of trusting them', () => {
    const rum = new RumStore();
    const odd = {
      meta: { session: { id: 'odd' } },
      logs: 'not a list',
      exceptions: [null, 5, { type: 'E', value: { nested: 1 } }],
      measurements: [{ type: 'v', values: { lcp: 'fast', fcp: 12 } }],
    };
    const s = rum.add(odd as never, undefined)!;
    expect(s.logs).toEqual([]);
    expect(s.exceptions).toEqual([{ type: 'E', value: '[object Object]' }]);
    expect(s.measurements).toEqual({ fcp: 12 });
  });
});
