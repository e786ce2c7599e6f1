// The runner on worker threads: the exact merge of metric stores, how scenarios are dealt
// out (shard.ts), and runs with 2 workers against a real loopback server — arrival counts
// equal to the one-thread schedule, per-second samples that add up to the run, a worker's
// error surfacing as runLoad's error, and the hard stop ending every worker.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLoadProfile, type LoadProfile, type LoadProfileInput } from '../../src/define/load.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { MetricStore } from '../../src/load/metrics.ts';
import { runLoad, type LoadSample } from '../../src/load/runner.ts';
import { arrivalOffsets } from '../../src/load/schedule.ts';
import { shardOffsets, shardScenario } from '../../src/load/shard.ts';
import { parseMetricName } from '../../src/load/thresholds.ts';

const storeWithSubmetric = () => {
  const s = new MetricStore();
  s.define('http_req_duration', 'trend', 'time');
  s.define('http_reqs', 'counter');
  s.define('http_req_failed', 'rate');
  const key = 'http_req_duration{status:200}';
  s.submetric('http_req_duration', key, parseMetricName(key).tags);
  return s;
};

describe('merging metric stores across threads', () => {
  it("two workers' samples, drained in several deltas and merged, equal one store that recorded them all", () => {
    const all = storeWithSubmetric();
    const workers = [storeWithSubmetric(), storeWithSubmetric()];
    const merged = storeWithSubmetric();
    // Values in ms with eighths (exact in binary, so sums do not depend on order), over five
    // orders of magnitude so the histograms resize differently in each worker.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const v = (next() % (i % 100 === 0 ? 8_000_000 : 4_000)) / 8;
      const status = next() % 10 === 0 ? '500' : '200';
      const tags = { status };
      const w = workers[i % 3 === 0 ? 0 : 1]!;
      for (const s of [all, w]) {
        s.add('http_req_duration', v, tags);
        s.add('http_reqs', 1, tags);
        s.add('http_req_failed', status === '200' ? 0 : 1, tags);
      }
      // A delta every 1,000 samples, as a worker sends one each second.
      if (i % 1_000 === 999) merged.merge(w.drain());
    }
    for (const w of workers) merged.merge(w.drain());
    expect(workers[0]!.drain()).toEqual({}); // drained means empty
    expect(merged.summary(10_000)).toEqual(all.summary(10_000));
    for (const key of ['http_req_duration', 'http_req_duration{status:200}'])
      for (let p = 0; p <= 100; p += 0.5)
        expect(merged.aggregate('http_req_duration', key, { kind: 'p', percentile: p }, 1), `${key} p(${p})`).toBe(
          all.aggregate('http_req_duration', key, { kind: 'p', percentile: p }, 1),
        );
    expect(() => merged.merge({ nope: {} })).toThrow(/unknown metric 'nope'/);
  });
});

const scenario = (s: LoadProfileInput['scenarios'][string]) => defineLoadProfile({ name: 'p', request: { path: '/' }, scenarios: { s } }).scenarios.s!;

describe('dealing a scenario out to workers', () => {
  it('arrival-rate: every start of the schedule goes to exactly one worker, at its own offset; VU budgets add up', () => {
    for (const s of [
      scenario({ executor: 'constant-arrival-rate', rate: 333, duration: '7s', preAllocatedVUs: 5, maxVUs: 11 }),
      scenario({
        executor: 'ramping-arrival-rate',
        startRate: 3,
        stages: [
          { duration: '3s', target: 250 },
          { duration: '2s', target: 0 },
        ],
        preAllocatedVUs: 4,
        maxVUs: 9,
      }),
    ])
      for (const count of [1, 2, 3, 4]) {
        const all = arrivalOffsets(s);
        const parts = Array.from({ length: count }, (_, index) => shardScenario(s, { index, count }, 64));
        const offsets = parts.flatMap((p, index) => shardOffsets(all, p, index));
        expect(offsets.sort((a, b) => a - b)).toEqual(all);
        expect(parts.reduce((a, p) => a + p.maxVUs, 0)).toBe(s.maxVUs);
        expect(parts.every((p) => p.preAllocatedVUs >= 1 && p.preAllocatedVUs <= p.maxVUs)).toBe(true);
        expect(parts.reduce((a, p) => a + p.connections, 0)).toBeLessThanOrEqual(Math.max(count, s.maxVUs!));
      }
  });
  it('closed model: each VU number on one worker, iterations and connections split; no more workers than VUs', () => {
    const s = scenario({ executor: 'shared-iterations', vus: 5, iterations: 101 });
    const parts = Array.from({ length: 3 }, (_, index) => shardScenario(s, { index, count: 3 }, 4));
    expect(parts.map((p) => p.vus)).toEqual([[0, 3], [1, 4], [2]]);
    expect(parts.map((p) => p.iterations)).toEqual([34, 34, 33]);
    expect(parts.reduce((a, p) => a + p.connections, 0)).toBe(4);
    const two = scenario({ executor: 'constant-vus', vus: 2, duration: '1s' });
    expect(Array.from({ length: 4 }, (_, index) => shardScenario(two, { index, count: 4 }, 64).active)).toEqual([true, true, false, false]);
    const ramp = scenario({ executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '1s', target: 6 }] });
    expect(shardScenario(ramp, { index: 1, count: 2 }, 64).vus).toEqual([1, 3, 5]);
  });
});

describe('runLoad on 2 worker threads against a real server', () => {
  let server: Server;
  let base = '';
  let served = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      served++;
      res.writeHead(req.url === '/fail' ? 500 : 200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const profile = (s: LoadProfileInput['scenarios'][string], extra: Partial<LoadProfileInput> = {}) =>
    defineLoadProfile({ name: 'w', request: { path: '/ok', expect: { status: 200 } }, scenarios: { s }, workers: 2, ...extra });

  const arrivals: Array<LoadProfileInput['scenarios'][string] & { executor: string }> = [
    // maxVUs leaves room for a starved CPU (2 cores shared with other test runs).
    { executor: 'constant-arrival-rate', rate: 150, duration: '2s', preAllocatedVUs: 4, maxVUs: 100 },
    {
      executor: 'ramping-arrival-rate',
      startRate: 20,
      stages: [
        { duration: '1s', target: 230 },
        { duration: '1s', target: 10 },
      ],
      preAllocatedVUs: 4,
      maxVUs: 100,
    },
  ];
  for (const s of arrivals)
    it(`${s.executor}: the workers start exactly the one-thread schedule's iterations; samples add up and merge`, async () => {
      const p = profile(s, { thresholds: { 'http_req_duration{status:200}': ['p(99)<5000'] } });
      const scheduled = arrivalOffsets(p.scenarios.s!).length;
      const samples: LoadSample[] = [];
      served = 0;
      const r = await runLoad(p, { baseUrl: base, clock: new RealClock(), onSample: (x) => samples.push(x) });
      const done = r.metrics.iterations!.values.count!;
      // Every scheduled start ran or was dropped, in one worker or the other: none lost, none doubled.
      expect(done + (r.metrics.dropped_iterations!.values.count ?? 0)).toBe(scheduled);
      expect(served).toBe(done);
      expect(r.metrics.http_reqs!.values.count).toBe(done);
      expect(r.metrics['http_req_duration{status:200}']!.values).toEqual(r.metrics.http_req_duration!.values);
      expect(r.root_group.checks[0]).toMatchObject({ passes: done, fails: 0 });
      // Per second, merged across the workers; the last sample holds the rest of the last second.
      expect(samples.reduce((a, x) => a + x.requests, 0)).toBe(done);
      expect(samples.length).toBeGreaterThanOrEqual(2);
      expect(r.generator).toMatchObject({ workers: 2, scope: 'process' });
      expect(r.generator.workerCpuSeconds).toHaveLength(2);
      // process.cpuUsage() covers every thread of the process: at least what the workers used.
      expect(r.generator.cpuSeconds).toBeGreaterThanOrEqual(r.generator.workerCpuSeconds!.reduce((a, b) => a + b, 0));
    });

  it("abortOnFail is judged on the workers' merged samples and stops them", async () => {
    const p = defineLoadProfile({
      name: 'failing',
      request: { path: '/fail', expect: { status: 200 } },
      scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '10m' } },
      thresholds: { http_req_failed: [{ threshold: 'rate<0.1', abortOnFail: true }] },
      workers: 2,
    });
    const r = await runLoad(p, { baseUrl: base, clock: new RealClock() });
    expect(r.state).toMatchObject({ aborted: true, abortReason: expect.stringMatching(/http_req_failed: rate<0\.1 crossed/) });
    expect(r.metrics.http_req_failed!.values.rate).toBe(1);
  });

  it('the hard stop ends every worker: a 10-minute run returns once its signal aborts', async () => {
    const stop = new AbortController();
    const r = await runLoad(profile({ executor: 'constant-vus', vus: 4, duration: '10m' }), {
      baseUrl: base,
      clock: new RealClock(),
      signal: stop.signal,
      onSample: () => stop.abort(),
    });
    expect(r.state.aborted).toBe(true);
    expect(r.metrics.http_reqs!.values.count).toBeGreaterThan(0);
    // Every request counted once across the workers, those cut off by the stop as failed checks.
    const { passes, fails } = r.root_group.checks[0]!;
    expect(passes + fails).toBe(r.metrics.http_reqs!.values.count);
    expect(fails).toBeLessThanOrEqual(4);
  });

  it('a signal aborted before the start stops the workers at once', async () => {
    const r = await runLoad(profile({ executor: 'constant-vus', vus: 2, duration: '10m' }), {
      baseUrl: base,
      clock: new RealClock(),
      signal: AbortSignal.abort(),
    });
    expect(r.state.aborted).toBe(true);
  });

  it("a worker's error rejects the run with that error (not a hang)", async () => {
    // Hand-built past the schema: a ramping-vus scenario without stages, which the engine
    // inside each worker cannot plan.
    const good = profile({ executor: 'ramping-vus', startVUs: 1, stages: [{ duration: '10m', target: 1 }] });
    const broken: LoadProfile = { ...good, scenarios: { s: { ...good.scenarios.s!, stages: undefined } } };
    await expect(runLoad(broken, { baseUrl: base, clock: new RealClock() })).rejects.toThrow(/load worker [01] failed: .*map/);
  });
});
