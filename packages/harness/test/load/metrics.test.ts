// Metrics and thresholds on known data (every aggregation, every operator, submetrics by
// tag), k6's option defaults, and the hard stop: a server that never answers cannot hold
// a run past its gracefulStop.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLoadProfile } from '../../src/define/index.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { MetricStore } from '../../src/load/metrics.ts';
import { runLoad } from '../../src/load/runner.ts';
import { compare, evaluateThreshold, parseMetricName, parseThreshold } from '../../src/load/thresholds.ts';

describe('threshold operators', () => {
  it('each operator against below, equal and above', () => {
    const table: Array<[string, [boolean, boolean, boolean]]> = [
      ['<', [true, false, false]],
      ['<=', [true, true, false]],
      ['>', [false, false, true]],
      ['>=', [false, true, true]],
      ['==', [false, true, false]],
      ['===', [false, true, false]],
      ['!=', [true, false, true]],
    ];
    for (const [op, want] of table)
      expect(
        [1, 2, 3].map((v) => compare(v, op as '<', 2)),
        op,
      ).toEqual(want);
  });
});

describe('metric store', () => {
  // 1..100 ms: avg 50.5, med 50, p(90) 90, p(99) 99, min 1, max 100; every tenth a 500.
  const store = new MetricStore();
  store.define('http_req_duration', 'trend', 'time');
  store.define('http_reqs', 'counter');
  store.define('http_req_failed', 'rate');
  store.define('vus', 'gauge');
  store.submetric('http_req_duration', 'http_req_duration{status:500}', { status: '500' });
  store.submetric('http_reqs', 'http_reqs{scenario:a,status:200}', { scenario: 'a', status: '200' });
  for (let i = 1; i <= 100; i++) {
    const status = i % 10 === 0 ? '500' : '200';
    const scenario = i <= 50 ? 'a' : 'b';
    store.add('http_req_duration', i, { status, scenario });
    store.add('http_reqs', 1, { status, scenario });
    store.add('http_req_failed', status === '500' ? 1 : 0, { status });
  }
  for (const v of [3, 7, 5]) store.add('vus', v);
  const agg = (key: string, t: string) => {
    const ref = parseMetricName(key);
    return evaluateThreshold(parseThreshold(t), (a) => store.aggregate(ref.metric, key, a, 10_000));
  };

  it('trend aggregations', () => {
    expect(agg('http_req_duration', 'avg==50.5').ok).toBe(true);
    expect(agg('http_req_duration', 'min==1').ok).toBe(true);
    expect(agg('http_req_duration', 'max==100').ok).toBe(true);
    // Percentiles come from an HDR histogram at 3 significant digits (µs values): the
    // sample's bucket's highest value, within 0.1 % of it.
    for (const [q, v] of [
      ['med', 50],
      ['p(90)', 90],
      ['p(99)', 99],
    ] as const) {
      expect(agg('http_req_duration', `${q}>=${v}`).ok, q).toBe(true);
      expect(agg('http_req_duration', `${q}<${v * 1.001}`).ok, q).toBe(true);
    }
    expect(agg('http_req_duration', 'p(99)<99').ok).toBe(false);
  });

  it('counter count and rate, rate, gauge value', () => {
    expect(agg('http_reqs', 'count==100').ok).toBe(true);
    expect(agg('http_reqs', 'rate==10').ok).toBe(true); // 100 over 10 s
    expect(agg('http_req_failed', 'rate==0.1').ok).toBe(true);
    expect(agg('vus', 'value==5').ok).toBe(true); // the last value
    expect(store.summary(10_000).vus!.values).toEqual({ value: 5, min: 3, max: 7 });
    // An aggregation the type has no value for proves nothing and fails.
    expect(agg('http_reqs', 'p(95)<1').ok).toBe(false);
  });

  it('submetrics take only samples whose tags all match', () => {
    expect(agg('http_req_duration{status:500}', 'count==10').ok).toBe(false); // count is not a trend value
    expect(agg('http_req_duration{status:500}', 'min==10').ok).toBe(true);
    expect(agg('http_req_duration{status:500}', 'max==100').ok).toBe(true);
    expect(agg('http_reqs{scenario:a,status:200}', 'count==45').ok).toBe(true);
    const summary = store.summary(10_000);
    expect(summary['http_reqs{scenario:a,status:200}']).toMatchObject({ type: 'counter', values: { count: 45 } });
    expect(summary['http_req_duration{status:500}']).toMatchObject({ type: 'trend', contains: 'time', values: { avg: 55 } });
  });
});

describe("k6's option defaults", () => {
  it('are filled in as k6 documents them', () => {
    const p = defineLoadProfile({
      name: 'defaults',
      request: { path: '/' },
      scenarios: {
        car: { executor: 'constant-arrival-rate', rate: 10, duration: '1m', preAllocatedVUs: 3 },
        rar: { executor: 'ramping-arrival-rate', preAllocatedVUs: 2, stages: [{ duration: '1m', target: 5 }] },
        cv: { executor: 'constant-vus', duration: '1m' },
        rv: { executor: 'ramping-vus', stages: [{ duration: '1m', target: 5 }] },
        pvi: { executor: 'per-vu-iterations' },
        si: { executor: 'shared-iterations' },
      },
    });
    const s = p.scenarios;
    for (const sc of Object.values(s)) expect(sc).toMatchObject({ startTime: 0, gracefulStop: 30_000 });
    expect(s.car).toMatchObject({ timeUnit: 1_000, maxVUs: 3 });
    expect(s.rar).toMatchObject({ timeUnit: 1_000, startRate: 0, maxVUs: 2 });
    expect(s.cv).toMatchObject({ vus: 1 });
    expect(s.rv).toMatchObject({ startVUs: 1 });
    expect(s.pvi).toMatchObject({ vus: 1, iterations: 1, maxDuration: 600_000 });
    expect(s.si).toMatchObject({ vus: 1, iterations: 1, maxDuration: 600_000 });
    expect(p.request).toMatchObject({ method: 'GET', expectStatus: [200, 201, 202, 204], name: 'GET /' });
  });
});

describe('the hard stop', () => {
  let server: Server;
  let base = '';
  const held: ServerResponse[] = [];
  beforeAll(async () => {
    // Never answers: only the runner's hard stop can end these requests.
    server = createServer((_req, res) => void held.push(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const r of held) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('interrupts requests still in flight after gracefulStop: interrupted iterations (as k6), neither requests nor failures', async () => {
    const p = defineLoadProfile({
      name: 'hang',
      request: { path: '/hang' },
      scenarios: { s: { executor: 'constant-vus', vus: 3, duration: '500ms', gracefulStop: '300ms' } },
    });
    const s = await runLoad(p, { baseUrl: base, clock: new RealClock() });
    expect(held.length).toBe(3); // three requests were in flight when the stop cut them off
    // The service never answered them: the run's stop ended them, which is no failure of the service.
    expect(s.metrics.http_reqs?.values.count ?? 0).toBe(0);
    expect(s.metrics.http_req_failed?.values.passes ?? 0).toBe(0);
  }, 30_000);
});
