// The embedded load runner: k6's executors (engine.ts) in this thread, or spread over
// worker threads (workers.ts) when the profile or the caller asks for more than one.
// Per-second samples stream out while the run goes on; with workers they are each
// second's windows of every worker merged, and the run's metrics are every worker's
// samples merged exactly (histograms add, counters add: metrics.ts drain/merge).
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import type { LoadProfile, ScenarioPlan } from '../define/load.ts';
import type { Clock } from '../engine/types.ts';
import { LoadEngine, loadStore, secondHistogram, sleep, type SecondWindow } from './engine.ts';
import { generatorUsage, type GeneratorUsage } from './generator-usage.ts';
import type { MetricStore } from './metrics.ts';
import { aggregationKey, evaluateThreshold } from './thresholds.ts';
import { commonNow } from './worker-protocol.ts';
import { LoadWorkers } from './workers.ts';

export { send } from './engine.ts';
export type { SendResult } from './h1-client.ts';

export interface LoadSample {
  t: number;
  requests: number;
  failures: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  dropped: number;
  vus: number;
}

export interface RunLoadOptions {
  baseUrl: string;
  clock: Clock;
  signal?: AbortSignal;
  onSample?: (s: LoadSample) => void;
  headers?: Record<string, string>;
  /** Connections per scenario at most (default 64), all workers together; see engine.ts. */
  maxConnections?: number;
  /** Worker threads for this run, overriding the profile's `workers` (1: this thread alone). */
  workers?: number;
}

export interface LoadSummary {
  metrics: Record<string, { type: string; contains: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
  root_group: {
    name: string;
    path: string;
    id: string;
    groups: never[];
    checks: Array<{ name: string; path: string; id: string; passes: number; fails: number }>;
  };
  state: { testRunDurationMs: number; isStdOutTTY: boolean; isStdErrTTY: boolean; aborted: boolean; abortReason?: string };
  options: { scenarios: Record<string, ScenarioPlan>; thresholds: LoadProfile['thresholds'] };
  thresholdsOk: boolean;
  /**
   * The runner's own cost over the run: process.cpuUsage() over wall time. It covers the whole
   * process the runner lives in, every thread (for a drill, the harness too), so it is an upper bound.
   */
  generator: GeneratorUsage;
}

/** Where the run's samples come from: this thread's engine, or the workers' windows merged. */
interface LoadSource {
  /** Runs every scenario to its end (or the hard stop); resolves with the check counts. */
  run(): Promise<{ checkPasses: number; checkFails: number; workerCpuSeconds?: number[] }>;
  /** The second just ended; with workers, their samples so far are merged into the store too. */
  window(): Promise<SecondWindow> | SecondWindow;
}

export async function runLoad(profile: LoadProfile, opts: RunLoadOptions): Promise<LoadSummary> {
  const workers = opts.workers ?? profile.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a whole number ≥ 1, not ${workers}`);
  const { store, thresholds } = loadStore(profile);
  const run = new AbortController();
  let abortReason: string | undefined;
  const engineOptions = { baseUrl: opts.baseUrl, headers: opts.headers, maxConnections: opts.maxConnections };

  // The workers load their modules first, so neither that nor their start-up is charged to the run.
  const pool = workers > 1 ? await LoadWorkers.start({ profile, ...engineOptions, count: workers }) : undefined;
  const onOuterAbort = () => run.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const cpuAtStart = process.cpuUsage();
  let source: LoadSource;
  let started: number;
  if (pool) {
    // A few ms ahead, so every worker has the message before the first arrival is due.
    const startAt = commonNow() + 20;
    started = startAt - performance.timeOrigin;
    run.signal.addEventListener('abort', () => pool.abort(), { once: true });
    pool.begin(startAt);
    source = workerSource(pool, store);
  } else {
    started = performance.now();
    const engine = new LoadEngine(profile, store, engineOptions);
    source = {
      run: async () => (await engine.run(run.signal, started), { checkPasses: engine.checkPasses, checkFails: engine.checkFails }),
      window: () => engine.takeWindow(),
    };
  }
  if (opts.signal?.aborted) run.abort(); // aborted before the start: every thread stops at once

  // Stopped once every scenario has ended (not at the hard stop: requests still settle after
  // it), so the last sample holds the rest of the last second and the samples add up to the run.
  const ended = new AbortController();
  const ticker = (async () => {
    // Seconds counted from the run's start (with workers, a few ms ahead of now), not from each wakeup: no drift.
    for (let second = 1; ; second++) {
      await sleep(started + second * 1_000 - performance.now(), ended.signal);
      const last = ended.signal.aborted;
      let w: SecondWindow;
      try {
        w = await source.window();
      } catch {
        return; // a worker failed: the run reports it
      }
      const h = w.hist;
      const sample: LoadSample = {
        t: opts.clock.now(),
        requests: w.requests,
        failures: w.failures,
        p50Ms: h.totalCount ? h.getValueAtPercentile(50) / 1000 : 0,
        p95Ms: h.totalCount ? h.getValueAtPercentile(95) / 1000 : 0,
        p99Ms: h.totalCount ? h.getValueAtPercentile(99) / 1000 : 0,
        dropped: w.dropped,
        vus: w.vus,
      };
      store.add('vus', w.vus);
      store.add('vus_max', w.maxVUs);
      opts.onSample?.(sample);
      // abortOnFail thresholds are checked every second once their delay has passed.
      const runMs = performance.now() - started;
      for (const t of thresholds) {
        if (!t.plan.abortOnFail || runMs < t.plan.delayAbortEval) continue;
        const r = evaluateThreshold(t.parsed, (a) => store.aggregate(t.ref.metric, t.key, a, runMs));
        if (r.actual !== undefined && !r.ok) {
          abortReason = `threshold ${t.key}: ${t.plan.threshold} crossed (${aggregationKey(t.parsed.aggregation)} = ${r.actual.toFixed(3)}), abortOnFail`;
          run.abort();
        }
      }
      if (last) return;
    }
  })();

  let result: Awaited<ReturnType<LoadSource['run']>>;
  let durationMs: number;
  let generator: GeneratorUsage;
  try {
    result = await source.run();
    durationMs = performance.now() - started;
    generator = generatorUsage(cpuAtStart, process.cpuUsage(), durationMs, workers, result.workerCpuSeconds);
  } finally {
    // Also when a worker failed: stop the others and the ticker, then end every thread.
    opts.signal?.removeEventListener('abort', onOuterAbort);
    run.abort();
    ended.abort();
    await ticker;
    await pool?.terminate();
  }

  const metrics: LoadSummary['metrics'] = store.summary(durationMs);
  let thresholdsOk = true;
  for (const t of thresholds) {
    const r = evaluateThreshold(t.parsed, (a) => store.aggregate(t.ref.metric, t.key, a, durationMs));
    thresholdsOk &&= r.ok;
    const m = metrics[t.key];
    if (m) (m.thresholds ??= {})[t.plan.threshold] = { ok: r.ok };
  }
  const checkName = `status is ${profile.request.expectStatus.join('|')}`;
  return {
    metrics,
    root_group: {
      name: '',
      path: '',
      id: 'd41d8cd98f00b204e9800998ecf8427e',
      groups: [],
      checks: [{ name: checkName, path: `::${checkName}`, id: 'status', passes: result.checkPasses, fails: result.checkFails }],
    },
    state: {
      testRunDurationMs: durationMs,
      isStdOutTTY: Boolean(process.stdout.isTTY),
      isStdErrTTY: Boolean(process.stderr.isTTY),
      aborted: abortReason !== undefined || Boolean(opts.signal?.aborted),
      ...(abortReason ? { abortReason } : {}),
    },
    options: { scenarios: profile.scenarios, thresholds: profile.thresholds },
    thresholdsOk,
    generator,
  };
}

/** The workers as a source: each second their windows add up, and their samples merge into the run's store. */
function workerSource(pool: LoadWorkers, store: MetricStore): LoadSource {
  return {
    run: async () => {
      const done = await pool.done();
      for (const d of done) store.merge(d.delta);
      return {
        checkPasses: done.reduce((a, d) => a + d.checkPasses, 0),
        checkFails: done.reduce((a, d) => a + d.checkFails, 0),
        ...(done.every((d) => Number.isFinite(d.cpuSeconds)) ? { workerCpuSeconds: done.map((d) => d.cpuSeconds) } : {}),
      };
    },
    window: async () => {
      const parts = await pool.windows();
      const w: SecondWindow = { requests: 0, failures: 0, dropped: 0, hist: secondHistogram(), vus: 0, maxVUs: 0 };
      for (const { window: p, delta } of parts) {
        store.merge(delta);
        w.requests += p.requests;
        w.failures += p.failures;
        w.dropped += p.dropped;
        w.vus += p.vus;
        w.maxVUs += p.maxVUs;
        if (p.hist) w.hist.add(decodeFromCompressedBase64(p.hist));
      }
      return w;
    },
  };
}
