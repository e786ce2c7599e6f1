// A drill stops its load when the drill ends: requests still in flight then are cut off by the
// harness, not failed by the service. They are interrupted iterations (as k6 counts them): no
// failed request in the totals, and no breach in the last per-second sample — which a drill's
// SLO impact would otherwise read as the service failing in its final second.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLoadProfile } from '../../src/define/load.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { runLoad, type LoadSample } from '../../src/load/runner.ts';

let server: Server;
let url = '';
const held: ServerResponse[] = [];
let answered = 0;

beforeAll(async () => {
  // Answers the first requests at once, then holds every response: those are in flight at the stop.
  server = createServer((_req, res) => {
    if (answered < 10) {
      answered++;
      res.writeHead(200).end('ok');
    } else held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('stopping the load', () => {
  for (const workers of [1, 2])
    it(`cuts off in-flight requests as interrupted, not failed (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
      answered = 0;
      const profile = defineLoadProfile({
        name: 'held',
        request: { method: 'GET', path: '/' },
        scenarios: { s: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '1m', preAllocatedVUs: 10, maxVUs: 10 } },
      });
      const stop = new AbortController();
      const samples: LoadSample[] = [];
      setTimeout(() => stop.abort(), 1_500);
      const summary = await runLoad(profile, { baseUrl: url, clock: new RealClock(), signal: stop.signal, onSample: (s) => samples.push(s), workers });
      expect(held.length).toBeGreaterThan(0); // requests really were in flight at the stop
      expect(samples.reduce((n, s) => n + s.failures, 0)).toBe(0);
      expect(summary.metrics.http_req_failed?.values.passes ?? 0).toBe(0);
      expect(summary.metrics.http_reqs?.values.count).toBe(samples.reduce((n, s) => n + s.requests, 0));
    });
});
