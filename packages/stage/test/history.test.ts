// The synthetic history: series labelled exactly as the live scrape labels them (the same
// series continue, no twins), and rate() continuous across the junction of history and live.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planHistory, sampleTimes, scrapedLabels, seriesOfOneRequest, COARSE_MS, FINE_SPAN_MS, type ScrapeTarget } from '../src/host/history.ts';
import { startStage, type Stage } from '../src/index.ts';
import { monitoringFetch, promQuery, tempStateDir } from './helpers.ts';

const target = (replica: string, port: number): ScrapeTarget => ({ job: 'graph-api', instance: `127.0.0.1:${port}`, labels: { replica }, replica });

describe('history series (pure)', () => {
  it('labels an exposed series as a scrape with honor_labels false does: clashing labels become exported_*', () => {
    expect(scrapedLabels({ service: 'graph-api', replica: 'replica-1', route: '/ingest' }, target('replica-1', 9))).toEqual({
      service: 'graph-api',
      exported_replica: 'replica-1',
      route: '/ingest',
      replica: 'replica-1',
      job: 'graph-api',
      instance: '127.0.0.1:9',
    });
  });

  it('samples every scrape interval over the last 10 minutes and every 15 s before, in time order', () => {
    const to = 10_000_000;
    const times = sampleTimes(to - 3_600_000, to, 1_000);
    expect(times.at(-1)).toBe(to);
    expect(times.filter((t) => t > to - FINE_SPAN_MS).length).toBe(FINE_SPAN_MS / 1_000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(new Set(gaps)).toEqual(new Set([1_000, COARSE_MS]));
    expect(times[0]! - (to - 3_600_000)).toBeLessThan(COARSE_MS);
  });

  it("takes the series from the service's own metrics: counter, every histogram bucket, sum and count", async () => {
    const series = await seriesOfOneRequest('replica-1', '/ingest', 'POST', 201, 0.01);
    const names = new Set(series.map((s) => s.name));
    expect(names).toContain('http_requests_total');
    expect(names).toContain('http_request_duration_seconds_sum');
    const buckets = series.filter((s) => s.name === 'http_request_duration_seconds_bucket');
    expect(buckets.find((b) => b.labels.le === '+Inf')?.perRequest).toBe(1);
    expect(buckets.find((b) => b.labels.le === '0.005')?.perRequest).toBe(0);
    expect(buckets.find((b) => b.labels.le === '0.01')?.perRequest).toBe(1);
  });

  it('grows each counter linearly at rate / replicas, split by the error ratio', async () => {
    const to = 1_800_000_000_000;
    const plan = await planHistory(
      { lengthMs: 3_600_000, ratePerSecond: 20, errorRatio: 0.01, request: { method: 'post', path: '/ingest', status: 201 } },
      [target('replica-1', 1), target('replica-2', 2)],
      to,
      1_000,
    );
    const last = (code: string, replica: string) => {
      const ours = (l: string) => l.startsWith('http_requests_total{') && l.includes(`code="${code}"`) && l.includes(`exported_replica="${replica}"`);
      const line = plan.text.split('\n').filter(ours).at(-1)!;
      return Number(line.split(' ')[1]);
    };
    // 10 req/s per replica for 3600 s: 36000, 1 % of it 500s.
    expect(last('201', 'replica-1')).toBeCloseTo(35_640, 3);
    expect(last('500', 'replica-2')).toBeCloseTo(360, 3);
    expect(plan.facts).toMatchObject({ route: '/ingest', method: 'POST', code: '201', ratePerSecond: 20, errorRatio: 0.01, toMs: to });
    expect(plan.text.endsWith('# EOF\n')).toBe(true);
  });

  it('refuses a request that is no route of the service, naming the field', async () => {
    const nope = { lengthMs: 60_000, ratePerSecond: 1, request: { method: 'GET', path: '/nope', status: 200 } };
    await expect(planHistory(nope, [target('r', 1)], 1e12, 1_000)).rejects.toThrow(/history\.request GET \/nope is no route/);
  });
});

/** POST /ingest at `perSecond`, paced, until stopped. */
function drive(url: string, perSecond: number): { stop: () => Promise<void>; sent: () => number } {
  let stopped = false;
  let sent = 0;
  const inflight = new Set<Promise<unknown>>();
  const loop = (async () => {
    const start = Date.now();
    while (!stopped) {
      const body = JSON.stringify({ entities: [{ kind: 'person', name: 'Ada' }] });
      const p = fetch(`${url}/ingest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      sent++;
      await new Promise((r) => setTimeout(r, Math.max(0, start + (sent * 1000) / perSecond - Date.now())));
    }
  })();
  return {
    sent: () => sent,
    stop: async () => {
      stopped = true;
      await loop;
      await Promise.all(inflight);
    },
  };
}

describe('a stage started with one hour of history', () => {
  let stage: Stage;
  let stateDir: string;
  beforeAll(async () => {
    stateDir = tempStateDir();
    stage = await startStage({ stateDir, history: { lengthMs: 3_600_000, ratePerSecond: 20, request: { method: 'POST', path: '/ingest', status: 201 } } });
    const load = drive(stage.urls.service, 20);
    await new Promise((r) => setTimeout(r, 20_000));
    await load.stop();
    await new Promise((r) => setTimeout(r, 2_000)); // one more scrape
  }, 90_000);
  afterAll(async () => {
    await stage?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('states what it wrote', () => {
    expect(stage.history).toMatchObject({ lengthMs: 3_600_000, ratePerSecond: 20, errorRatio: 0, route: '/ingest', method: 'POST', code: '201' });
    expect(stage.history!.samples).toBeGreaterThan(0);
  });

  it('continues the live series: one series per replica, holding history and live samples', async () => {
    const series = await promQuery(stage, 'count_over_time(http_requests_total{route="/ingest"}[2h])');
    expect(series).toHaveLength(2);
    // History: 600 fine + ~200 coarse samples; live: ~20 more.
    for (const s of series) expect(Number(s.value[1])).toBeGreaterThan(800);
    // The newest sample is the live counter's (tens), not the history's end (~36000).
    for (const s of await promQuery(stage, 'http_requests_total{route="/ingest"}')) expect(Number(s.value[1])).toBeLessThan(1_000);
    // The histogram's buckets continue too (no twin with other labels).
    const buckets = await promQuery(stage, 'count(count_over_time(http_request_duration_seconds_bucket{route="/ingest"}[2h]))');
    expect(Number(buckets[0]!.value[1])).toBe(2 * 12);
  });

  it('keeps rate() continuous across the junction: one counter reset, no dip and no spike', async () => {
    const end = Date.now() / 1000;
    const query = encodeURIComponent('sum(rate(http_requests_total{route="/ingest"}[5m]))');
    const res = await monitoringFetch(stage)(`${stage.urls.prometheus}/api/v1/query_range?query=${query}&start=${end - 600}&end=${end - 3}&step=5`);
    const body = (await res.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
    const values = body.data.result[0]!.values.map(([, v]) => Number(v));
    expect(values.length).toBeGreaterThan(100);
    // The live load is paced at the history's 20/s; a misread reset would add ~36000/300 s = 120/s.
    for (const v of values) expect(Math.abs(v - 20)).toBeLessThan(2);
    const resets = await promQuery(stage, 'resets(http_requests_total{route="/ingest"}[2h])');
    for (const r of resets) expect(Number(r.value[1])).toBe(1);
    // Over the full hour the ratio of errors stays the history's (none) and the rate the load's.
    const hour = await promQuery(stage, 'sum(rate(http_requests_total{route="/ingest"}[1h]))');
    expect(Math.abs(Number(hour[0]!.value[1]) - 20)).toBeLessThan(1);
  });
});
