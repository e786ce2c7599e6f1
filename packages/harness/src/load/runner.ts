// The embedded load runner: k6's executors on its own HTTP/1.1 client (h1-client.ts; undici
// for https:), latency in HDR histograms.
// Arrival-rate executors are open-model — an iteration starts on schedule whether or not
// earlier ones finished; with no free VU (and maxVUs reached) it is dropped and counted.
// Latency is recorded from the actual send (http_req_duration) and, for arrival-rate
// executors, from the intended start (http_req_duration_corrected, as wrk2 corrects for
// coordinated omission). Per-second samples stream out while the run goes on.
import { build } from 'hdr-histogram-js';
import { Agent, Client, type Dispatcher } from 'undici';
import type { LoadProfile, ScenarioPlan } from '../define/load.ts';
import type { Clock } from '../engine/types.ts';
import { generatorUsage, type GeneratorUsage } from './generator-usage.ts';
import { endpoint, H1Connection, H1Pool, serializeRequest, type SendResult, type Sender } from './h1-client.ts';
import { MetricStore, type Tags } from './metrics.ts';
import { arrivalOffsets, scenarioDuration, vusAt } from './schedule.ts';
import { aggregationKey, evaluateThreshold, parseMetricName, parseThreshold } from './thresholds.ts';
import { maxOf } from '../util/arrays.ts';

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
  /** Connections per scenario at most (default 64); see runLoad. */
  maxConnections?: number;
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
   * process the runner lives in (for a drill, the harness too), so it is an upper bound.
   */
  generator: GeneratorUsage;
}

// The abort listener is removed when the timer fires: the arrival loop sleeps once per
// iteration, and listeners left behind would pile up on the signal (O(n) each to add).
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export type { SendResult } from './h1-client.ts';

/**
 * Receives one response through undici's dispatch API: the status, and the body counted and
 * dropped. A class rather than an object of closures: the runner's hot path makes one per
 * request, and methods on a prototype cost nothing to create.
 */
class ResponseCounter implements Dispatcher.DispatchHandler {
  private status = 0;
  private bytes = 0;
  constructor(private readonly done: (r: SendResult) => void) {}
  onRequestStart(): void {} // its presence selects undici's current handler API
  onResponseStart(_c: Dispatcher.DispatchController, status: number): void {
    this.status = status;
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
  }
  onResponseEnd(): void {
    this.done({ status: this.status, bytes: this.bytes });
  }
  onResponseError(): void {
    this.done({ status: 0, bytes: this.bytes }); // refused, reset or interrupted
  }
}

/**
 * One request; lighter than undici's `request()`, which wraps every body in a stream.
 * Used for https: targets, and exported for the benchmark's bare-undici rounds.
 */
export function send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<SendResult> {
  return new Promise((resolve) => sendVia(dispatcher, options, resolve));
}

function sendVia(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, done: (r: SendResult) => void): void {
  try {
    dispatcher.dispatch(options, new ResponseCounter(done));
  } catch {
    done({ status: 0, bytes: 0 }); // the dispatcher was already destroyed
  }
}

/** https: targets (and anything not plain http:) go through undici; data_received counts bodies only there. */
class UndiciSender implements Sender {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly options: Dispatcher.DispatchOptions,
  ) {}
  send(done: (r: SendResult) => void): void {
    sendVia(this.dispatcher, this.options, done);
  }
  destroy(): Promise<void> {
    return this.dispatcher.destroy();
  }
}

const sent = (sender: Sender) => new Promise<SendResult>((resolve) => sender.send(resolve));

export async function runLoad(profile: LoadProfile, opts: RunLoadOptions): Promise<LoadSummary> {
  const store = new MetricStore();
  store.define('http_reqs', 'counter');
  store.define('http_req_duration', 'trend', 'time');
  store.define('http_req_duration_corrected', 'trend', 'time');
  store.define('http_req_failed', 'rate');
  store.define('iterations', 'counter');
  store.define('iteration_duration', 'trend', 'time');
  store.define('dropped_iterations', 'counter');
  store.define('checks', 'rate');
  store.define('vus', 'gauge');
  store.define('vus_max', 'gauge');
  store.define('data_received', 'counter', 'data');
  store.define('data_sent', 'counter', 'data');
  const thresholds = Object.entries(profile.thresholds).flatMap(([key, list]) => {
    const ref = parseMetricName(key);
    if (Object.keys(ref.tags).length) store.submetric(ref.metric, key, ref.tags);
    return list.map((t) => ({ key, ref, plan: t, parsed: parseThreshold(t.threshold) }));
  });

  const run = new AbortController();
  const onOuterAbort = () => run.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let abortReason: string | undefined;
  // One connection pool per scenario, a connection per VU (as k6) up to maxConnections; VUs
  // beyond it queue for a connection, and that wait counts in their latency (the request is
  // timed from when the VU asks for it). Thousands of sockets on one event loop cost more
  // than they measure: at 5,000/s, uncapped, the pool's search for a free connection and
  // the connection churn made the runner drop a sixth of its iterations. Destroying it at the hard
  // stop interrupts that scenario's in-flight requests: cheaper than an abort listener per
  // request (EventTarget's duplicate check makes those O(in-flight) each).
  const connectionsFor = (s: ScenarioPlan) =>
    Math.min(
      opts.maxConnections ?? 64,
      maxOf([1, s.maxVUs ?? s.vus ?? 1, s.startVUs ?? 0, ...(s.executor === 'ramping-vus' ? (s.stages ?? []).map((st) => st.target) : [])]),
    );
  const url = profile.request.url ?? new URL(profile.request.path!, opts.baseUrl).toString();
  const checkName = `status is ${profile.request.expectStatus.join('|')}`;
  let checkPasses = 0;
  let checkFails = 0;

  // Per-second window for live samples.
  let secRequests = 0;
  let secFailures = 0;
  let secDropped = 0;
  let secHist = build({ numberOfSignificantValueDigits: 2 });
  let activeVUs = 0;
  let maxVUsSeen = 0;

  // Per request, only what varies: headers, URL parts, sent size and tag sets are built once.
  const headers = { ...profile.request.headers, ...opts.headers };
  const target = new URL(url);
  const origin = target.origin;
  const path = `${target.pathname}${target.search}`;
  const requestOptions = { origin, path, method: profile.request.method as 'GET', headers, body: profile.request.body ?? null };
  // Plain http: goes through the runner's own client, the request serialized once.
  const plain = target.protocol === 'http:';
  const wire = plain ? serializeRequest({ method: profile.request.method, url: target, headers, body: profile.request.body ?? null }) : undefined;
  const { host, port } = endpoint(target);
  const undiciOptions = { pipelining: 1, keepAliveTimeout: 10_000 };
  const connection = (): Sender =>
    wire ? new H1Connection(host, port, wire, profile.request.method) : new UndiciSender(new Client(origin, undiciOptions), requestOptions);
  const pool = (size: number): Sender =>
    wire ? new H1Pool(host, port, wire, profile.request.method, size) : new UndiciSender(new Agent({ connections: size, ...undiciOptions }), requestOptions);
  const sentBytes = wire ? wire.length : (profile.request.body?.length ?? 0) + url.length;
  // Per (scenario, status): the recorders for that tag set, with submetric matching done once.
  type Recorders = {
    reqs: Rec;
    duration: Rec;
    corrected: Rec;
    failed: Rec;
    checks: Rec;
    iterations: Rec;
    iterationDuration: Rec;
    received: Rec;
    sent: Rec;
    ok: boolean;
  };
  type Rec = (v: number) => void;
  // Keyed by scenario, then by status as a number: no key string is built per request.
  const recorderCache = new Map<string, Map<number, Recorders>>();
  const recordersFor = (scenario: string, status: number): Recorders => {
    let byStatus = recorderCache.get(scenario);
    if (!byStatus) recorderCache.set(scenario, (byStatus = new Map()));
    let r = byStatus.get(status);
    if (!r) {
      const ok = profile.request.expectStatus.includes(status);
      const iter: Tags = { scenario, method: profile.request.method, name: profile.request.name, url };
      const req: Tags = { ...iter, status: String(status), expected_response: String(ok) };
      r = {
        ok,
        reqs: store.recorder('http_reqs', req),
        duration: store.recorder('http_req_duration', req),
        corrected: store.recorder('http_req_duration_corrected', req),
        failed: store.recorder('http_req_failed', req),
        checks: store.recorder('checks', { ...req, check: checkName }),
        iterations: store.recorder('iterations', iter),
        iterationDuration: store.recorder('iteration_duration', iter),
        received: store.recorder('data_received', req),
        sent: store.recorder('data_sent', req),
      };
      byStatus.set(status, r);
    }
    return r;
  };

  const iteration = async (scenario: string, sender: Sender, intendedPerf?: number) => {
    const p0 = performance.now();
    const { status, bytes } = await sent(sender);
    const end = performance.now();
    const dur = end - p0;
    const r = recordersFor(scenario, status);
    r.reqs(1);
    r.duration(dur);
    // From the intended start, or from the send if that was earlier: never below the raw latency.
    if (intendedPerf !== undefined) r.corrected(end - Math.min(intendedPerf, p0));
    r.failed(r.ok ? 0 : 1);
    r.checks(r.ok ? 1 : 0);
    r.iterations(1);
    r.iterationDuration(dur);
    r.received(bytes);
    r.sent(sentBytes);
    if (r.ok) checkPasses++;
    else checkFails++;
    secRequests++;
    if (!r.ok) secFailures++;
    secHist.recordValue(Math.round(dur * 1000));
  };

  const runScenario = async (name: string, s: ScenarioPlan) => {
    await sleep(s.startTime, run.signal);
    const dispatchers: Sender[] = [];
    const onRunAbort = () => dispatchers.forEach((d) => void d.destroy());
    run.signal.addEventListener('abort', onRunAbort, { once: true });
    const inflight = new Set<Promise<void>>();
    const startPerf = performance.now();
    const length = scenarioDuration(s);
    const elapsed = () => performance.now() - startPerf;
    if (s.executor === 'constant-arrival-rate' || s.executor === 'ramping-arrival-rate') {
      // Open model: iterations take any free connection from one pool.
      const shared = pool(connectionsFor(s));
      dispatchers.push(shared);
      let allocated = s.preAllocatedVUs ?? 1;
      let busy = 0;
      maxVUsSeen = Math.max(maxVUsSeen, allocated);
      for (const off of arrivalOffsets(s)) {
        if (run.signal.aborted) break;
        // Node's timers count whole milliseconds against a loop clock that may lag by one: a
        // wait under 1 ms would cost a wakeup of its own (two per iteration at drill rates, most
        // of the runner's CPU there). Such an iteration starts now, at most 1 ms early.
        const wait = off - elapsed();
        if (wait >= 1) await sleep(wait, run.signal);
        if (busy >= allocated) {
          if (allocated < (s.maxVUs ?? allocated)) {
            allocated++;
            maxVUsSeen = Math.max(maxVUsSeen, allocated);
          } else {
            store.add('dropped_iterations', 1, { scenario: name });
            secDropped++;
            continue;
          }
        }
        busy++;
        activeVUs++;
        const it = iteration(name, shared, startPerf + off).finally(() => (busy--, activeVUs--, inflight.delete(it)));
        inflight.add(it);
      }
    } else {
      // Closed model: each VU keeps its own connection, as in k6 (VUs beyond maxConnections
      // share one and queue on it); no pool to search for a free connection on every request.
      const workers = s.executor === 'ramping-vus' ? maxOf([s.startVUs ?? 0, ...s.stages!.map((st) => st.target)]) : (s.vus ?? 1);
      maxVUsSeen = Math.max(maxVUsSeen, workers);
      for (let i = 0; i < connectionsFor(s); i++) dispatchers.push(connection());
      let shared = s.iterations ?? 0;
      const worker = async (i: number) => {
        const connection = dispatchers[i % dispatchers.length]!;
        let mine = s.iterations ?? 0;
        while (!run.signal.aborted && elapsed() < length) {
          if (s.executor === 'ramping-vus' && i >= vusAt(s.startVUs ?? 1, s.stages!, elapsed())) {
            await sleep(50, run.signal);
            continue;
          }
          if (s.executor === 'per-vu-iterations' && mine-- <= 0) break;
          if (s.executor === 'shared-iterations' && shared-- <= 0) break;
          activeVUs++;
          const it = iteration(name, connection);
          inflight.add(it);
          try {
            await it;
          } finally {
            inflight.delete(it);
            activeVUs--;
          }
        }
      };
      await Promise.race([Promise.all(Array.from({ length: workers }, (_, i) => worker(i))), sleep(length + 1, run.signal)]);
    }
    // Graceful stop: in-flight iterations may finish within gracefulStop, then are interrupted.
    await Promise.race([Promise.all([...inflight]), sleep(s.gracefulStop, run.signal)]);
    await Promise.all(dispatchers.map((d) => d.destroy()));
    await Promise.allSettled([...inflight]);
    run.signal.removeEventListener('abort', onRunAbort);
  };

  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const ticker = (async () => {
    while (!run.signal.aborted) {
      await sleep(1_000, run.signal);
      const h = secHist;
      secHist = build({ numberOfSignificantValueDigits: 2 });
      const sample: LoadSample = {
        t: opts.clock.now(),
        requests: secRequests,
        failures: secFailures,
        p50Ms: h.totalCount ? h.getValueAtPercentile(50) / 1000 : 0,
        p95Ms: h.totalCount ? h.getValueAtPercentile(95) / 1000 : 0,
        p99Ms: h.totalCount ? h.getValueAtPercentile(99) / 1000 : 0,
        dropped: secDropped,
        vus: activeVUs,
      };
      secRequests = secFailures = secDropped = 0;
      store.add('vus', activeVUs);
      store.add('vus_max', maxVUsSeen);
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
    }
  })();

  await Promise.all(Object.entries(profile.scenarios).map(([n, s]) => runScenario(n, s)));
  const durationMs = performance.now() - started;
  const generator = generatorUsage(cpuAtStart, process.cpuUsage(), durationMs);
  run.abort();
  await ticker;
  opts.signal?.removeEventListener('abort', onOuterAbort);

  const metrics: LoadSummary['metrics'] = store.summary(durationMs);
  let thresholdsOk = true;
  for (const t of thresholds) {
    const r = evaluateThreshold(t.parsed, (a) => store.aggregate(t.ref.metric, t.key, a, durationMs));
    thresholdsOk &&= r.ok;
    const m = metrics[t.key];
    if (m) (m.thresholds ??= {})[t.plan.threshold] = { ok: r.ok };
  }
  return {
    metrics,
    root_group: {
      name: '',
      path: '',
      id: 'd41d8cd98f00b204e9800998ecf8427e',
      groups: [],
      checks: [{ name: checkName, path: `::${checkName}`, id: 'status', passes: checkPasses, fails: checkFails }],
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
