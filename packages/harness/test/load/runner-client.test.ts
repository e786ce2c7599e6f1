// The runner on its own HTTP/1.1 client and on undici: what a response adds to the metrics
// (wire bytes, status tags, corrected ≥ raw latency), a target that is not plain http going
// through undici, and the generator's own CPU share in the summary.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLoadProfile } from '../../src/define/index.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { serializeRequest } from '../../src/load/h1-client.ts';
import { runLoad } from '../../src/load/runner.ts';
import { renderLoadSummary } from '../../src/load/summary-text.ts';

describe('runner requests', () => {
  let server: Server;
  let base = '';
  const seen: Array<{ method: string; url: string; body: string; headers: Record<string, unknown> }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body, headers: req.headers });
        // Chunked (no content-length): the client must frame it to count the next response.
        res.writeHead(req.url === '/missing' ? 404 : 201, { 'x-test': '1' });
        res.end('created');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the profile request as written and counts what came back', async () => {
    seen.length = 0;
    const profile = defineLoadProfile({
      name: 'post',
      request: { method: 'POST', path: '/items?x=1', headers: { 'x-run': 'abc' }, json: { a: 1 }, expect: { status: 201 } },
      scenarios: { s: { executor: 'shared-iterations', vus: 2, iterations: 10, maxDuration: '10s' } },
      thresholds: { 'http_reqs{status:201}': ['count==10'] },
    });
    const s = await runLoad(profile, { baseUrl: base, clock: new RealClock() });
    expect(seen).toHaveLength(10);
    const headers = { 'x-run': 'abc', 'content-type': 'application/json', 'content-length': '7' };
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/items?x=1', body: '{"a":1}', headers });
    expect(s.thresholdsOk).toBe(true);
    expect(s.metrics.http_req_failed!.values.passes).toBe(0);
    // data_sent is the serialized request's bytes; data_received the whole responses (> bodies).
    const wire = serializeRequest({ method: 'POST', url: new URL(`${base}/items?x=1`), headers: profile.request.headers, body: profile.request.body ?? null });
    expect(s.metrics.data_sent!.values.count).toBe(10 * wire.length);
    expect(s.metrics.data_received!.values.count).toBeGreaterThan(10 * 'created'.length);
  });

  it('open model: the corrected latency is never below the raw one', async () => {
    const profile = defineLoadProfile({
      name: 'open',
      request: { path: '/missing', expect: { status: 404 } },
      scenarios: { s: { executor: 'constant-arrival-rate', rate: 100, timeUnit: '1s', duration: '1s', preAllocatedVUs: 5, maxVUs: 20 } },
    });
    const s = await runLoad(profile, { baseUrl: base, clock: new RealClock() });
    const raw = s.metrics.http_req_duration!.values;
    const corrected = s.metrics.http_req_duration_corrected!.values;
    expect(s.metrics.http_reqs!.values.count).toBe(100);
    expect(corrected.min!).toBeGreaterThanOrEqual(raw.min!);
    expect(corrected.max!).toBeGreaterThanOrEqual(raw.max!);
    expect(corrected['p(99)']!).toBeGreaterThanOrEqual(raw['p(99)']!);
  });

  it('a target that is not plain http goes through undici: an https port that refuses fails each request', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const profile = defineLoadProfile({
      name: 'tls',
      request: { url: `https://127.0.0.1:${port}/`, expect: { status: 200 } },
      scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 3, maxDuration: '10s' } },
    });
    const s = await runLoad(profile, { baseUrl: `https://127.0.0.1:${port}`, clock: new RealClock() });
    expect(s.metrics.http_reqs!.values.count).toBe(3);
    expect(s.metrics['http_req_failed']!.values.passes).toBe(3);
    expect(s.root_group.checks[0]).toMatchObject({ passes: 0, fails: 3 });
  });

  it("the summary states the generator's own CPU over the run's wall time", async () => {
    const profile = defineLoadProfile({
      name: 'cpu',
      request: { path: '/', expect: { status: 201 } },
      scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 50, maxDuration: '10s' } },
    });
    const s = await runLoad(profile, { baseUrl: base, clock: new RealClock() });
    const g = s.generator;
    expect(g.scope).toBe('process');
    expect(g.workers).toBe(1);
    expect(g.cpuSeconds).toBeGreaterThan(0); // 100 requests cannot be free
    expect(g.wallSeconds * 1000).toBeCloseTo(s.state.testRunDurationMs, 0);
    expect(g.cpuShare).toBeCloseTo(g.cpuSeconds / g.wallSeconds, 9);
    expect(renderLoadSummary('cpu', s)).toMatch(/generator: \d+\.\d\d CPU-s over \d+\.\d s = \d+\.\d % of one core \(whole process\)/);
  });
});
