// Ground truth of the stage's synthetic history (issue #14, item 3): with an hour of healthy
// traffic behind it, a full outage trips the 14.4× page (GraphApiAvailability, 5m and 1h
// windows) only once the outage is 1.44 % of that hour; without history it fires within
// seconds, because the 1h window then holds only the seconds since the stage started.
//
// The arithmetic, at a steady rate r before and during the outage (every request a 5xx):
// after t seconds the 1h window holds r·t errors out of r·3600 requests (it loses t seconds
// of healthy past as it gains t seconds of outage), so the ratio is t / 3600 and passes
// 14.4 × 0.1 % = 1.44 % at t = 0.0144 × 3600 s = 51.84 s. The 5m window passes at
// 0.0144 × 300 s = 4.3 s, so the 1h window decides. On top: up to one scrape (1 s) before
// Prometheus holds the errors; up to one more scrape of errors that rate() never counts (a
// new 5xx series' first sample is its baseline); up to one evaluation of the recording-rule
// group and one of the alert group (1 s each); and the database stop itself (PostgreSQL's
// fast shutdown and the service's first 5xx, 3 s). Bound:
//   0.9 × 51.84 s ≤ TTD ≤ 51.84 s + 1 + 1 + 2 + 3 s = 58.84 s,
// the 0.9 allowing rate()'s extrapolation at the window's edges. Measured on the 2-core
// machine: 55.1 s with history, 2.4 s without.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type HistoryOptions, type Stage } from '@drillbook/stage';
import { runBuild } from '../../src/build/run.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { runLoad } from '../../src/load/runner.ts';
import type { LoadProfile } from '../../src/define/load.ts';
import { PrometheusClient } from '../../src/observe/prometheus.ts';
import { alertWindows, chooseHistory, readRules } from '../../src/session/run/history.ts';
import steady from '../../../../load/steady-p50.ts';

const repoRoot = resolve(__dirname, '../../../..');
const ALERT = 'GraphApiAvailability';
const HOUR_S = 3_600;
const PAGE_FACTOR = 14.4;
const BUDGET = 0.001;
const CROSSING_MS = PAGE_FACTOR * BUDGET * HOUR_S * 1_000; // 51 840 ms
const SCRAPE = 1_000;
const BASELINE = 1_000;
const EVALS = 2 * 1_000;
const DB_STOP = 3_000;
const WARM_UP = 15_000;

const dir = mkdtempSync(join(tmpdir(), 'drillbook-history-'));
const rulesDir = join(dir, 'out', 'alerts');
// The seed game-day's load, long enough for warm-up and the outage.
const load: LoadProfile = { ...steady, scenarios: { steady: { ...steady.scenarios.steady!, duration: 240_000 } } };

beforeAll(async () => {
  await runBuild({ projectRoot: repoRoot, outDir: join(dir, 'out') });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a stage, runs the load, stops the database after the warm-up; returns the page's TTD (from Prometheus's activeAt). */
async function outageTtd(name: string, history: HistoryOptions | undefined): Promise<{ ttdMs: number; stage: Stage }> {
  const stage = await startStage({ rulesDir, scrapeInterval: SCRAPE, evaluationInterval: 1_000, stateDir: join(dir, name), ...(history ? { history } : {}) });
  const stop = new AbortController();
  const running = runLoad(load, { baseUrl: stage.urls.service, clock: new RealClock(), signal: stop.signal, onSample: () => {} });
  try {
    await new Promise((r) => setTimeout(r, WARM_UP));
    const tInject = Date.now();
    const res = await fetch(`${stage.urls.control}/db/stop`, { method: 'POST', headers: { authorization: `Bearer ${stage.controlToken}` } });
    expect(res.ok).toBe(true);
    const prometheus = new PrometheusClient(stage.urls.prometheus, undefined, stage.auth.prometheus);
    const deadline = Date.now() + 120_000;
    for (;;) {
      // The 5m/1h pair: its rule carries long_window="1h".
      const page = (await prometheus.alerts()).find((a) => a.labels.alertname === ALERT && a.labels.long_window === '1h' && a.state === 'firing');
      if (page?.activeAt) return { ttdMs: Date.parse(page.activeAt) - tInject, stage };
      if (Date.now() > deadline) throw new Error(`${ALERT} (5m/1h) did not fire within 120 s of the outage`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    stop.abort();
    await running;
    await fetch(`${stage.urls.control}/db/start`, { method: 'POST', headers: { authorization: `Bearer ${stage.controlToken}` } }).catch(() => undefined);
    await stage.stop();
  }
}

describe('the 14.4× page against a stage with and without a past', () => {
  it('reads the page windows from the generated rules: the history reaches back the longest, capped at 6 h', () => {
    const windows = alertWindows(readRules(rulesDir), [ALERT, 'GraphApiDatabaseDown']);
    // GraphApiAvailability's pairs end with 6h/3d; GraphApiDatabaseDown reads [15s].
    expect(windows.get(ALERT)).toBe(3 * 24 * HOUR_S * 1_000);
    expect(windows.get('GraphApiDatabaseDown')).toBe(15_000);
    const chosen = chooseHistory({ windows, load: steady });
    expect(chosen.decision.lengthMs).toBe(6 * HOUR_S * 1_000);
    expect(chosen.decision.why).toMatch(/3d \(GraphApiAvailability\), capped at 6h/);
    expect(chosen.stage).toEqual({ lengthMs: 6 * HOUR_S * 1_000, ratePerSecond: 20, request: { method: 'POST', path: '/ingest', status: 201 }, errorRatio: 0 });
    expect(chooseHistory({ configuredMs: 0, windows, load: steady }).stage).toBeUndefined();
    expect(chooseHistory({ configuredMs: 3_600_000, windows, load: steady }).stage?.lengthMs).toBe(3_600_000);
  });

  it('without history the page fires within seconds of a full outage (as before)', { timeout: 180_000, retry: 1 }, async () => {
    const { ttdMs } = await outageTtd('none', undefined);
    console.log(`${ALERT} 5m/1h without history: TTD ${ttdMs} ms`);
    // The 1h window holds only the warm-up (~15 s): 1.44 % of it is ~0.2 s of outage.
    expect(ttdMs).toBeLessThan(SCRAPE + EVALS + DB_STOP + 1_000);
  });

  // One retry, as for the other ground truths: a CPU stall from a co-running test file is not the measurement's error.
  it('with one hour of history at the load rate the page fires after 0.0144 × 60 min ≈ 52 s', { timeout: 240_000, retry: 1 }, async () => {
    const chosen = chooseHistory({ configuredMs: HOUR_S * 1_000, windows: new Map(), load: steady });
    const { ttdMs, stage } = await outageTtd('hour', chosen.stage!);
    console.log(`${ALERT} 5m/1h with 1 h of history at 20/s: TTD ${ttdMs} ms (arithmetic ${CROSSING_MS} ms); history written in ${stage.history?.writeMs} ms`);
    expect(stage.history).toMatchObject({ lengthMs: HOUR_S * 1_000, ratePerSecond: 20, errorRatio: 0 });
    expect(ttdMs).toBeGreaterThanOrEqual(0.9 * CROSSING_MS);
    expect(ttdMs).toBeLessThanOrEqual(CROSSING_MS + SCRAPE + BASELINE + EVALS + DB_STOP);
  });
});
