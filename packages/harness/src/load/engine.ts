// One thread's part of a load: k6's executors on the runner's own HTTP/1.1 client
// (h1-client.ts; undici for https:), every sample recorded into a MetricStore, and the live
// window of the current second. runLoad runs one engine in its own thread, or one per
// worker thread (workers.ts) with the scenarios dealt out by shard.ts.
// Arrival-rate executors are open-model — an iteration starts on schedule whether or not
// earlier ones finished; with no free VU (and maxVUs reached) it is dropped and counted.
// Latency is recorded from the actual send (http_req_duration) and, for arrival-rate
// executors, from the intended start (http_req_duration_corrected, as wrk2 corrects for
// coordinated omission).
import { build, type Histogram } from 'hdr-histogram-js';
import { Agent, Client, type Dispatcher } from 'undici';
import type { LoadProfile, ScenarioPlan, ThresholdPlan } from '../define/load.ts';
import { endpoint, H1Connection, H1Pool, serializeRequest, type SendResult, type Sender } from './h1-client.ts';
import { MetricStore, type Tags } from './metrics.ts';
import { arrivalOffsets, scenarioDuration, vusAt } from './schedule.ts';
import { isArrivalRate, shardOffsets, shardScenario, type Shard } from './shard.ts';
import { parseMetricName, parseThreshold, type MetricRef, type ParsedThreshold } from './thresholds.ts';

export interface EngineOptions {
  baseUrl: string;
  headers?: Record<string, string> | undefined;
  /** Connections per scenario at most, all workers together (default 64). */
  maxConnections?: number | undefined;
  /** This thread's part of the load (default: all of it). */
  shard?: Shard | undefined;
}

/** The current second's figures, taken (and reset) by the ticker once a second. */
export interface SecondWindow {
  requests: number;
  failures: number;
  dropped: number;
  /** http_req_duration of this second's requests, µs. */
  hist: Histogram;
  /** VUs busy right now, and the most allocated so far (the largest scenario's; workers' add up). */
  vus: number;
  maxVUs: number;
}

export interface ThresholdEntry {
  key: string;
  ref: MetricRef;
  plan: ThresholdPlan;
  parsed: ParsedThreshold;
}

/** The run's metrics (k6's names) and its thresholds' submetrics: the same in every thread, so their stores merge. */
export function loadStore(profile: LoadProfile): { store: MetricStore; thresholds: ThresholdEntry[] } {
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
  return { store, thresholds };
}

export const secondHistogram = () => build({ numberOfSignificantValueDigits: 2 });

// The abort listener is removed when the timer fires: the arrival loop sleeps once per
// iteration, and listeners left behind would pile up on the signal (O(n) each to add).
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

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

type Rec = (v: number) => void;
/** Per (scenario, status): the recorders for that tag set, with submetric matching done once. */
interface Recorders {
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
}

export class LoadEngine {
  checkPasses = 0;
  checkFails = 0;
  /** Iterations cut off by the stop (graceful stop over, or the hard stop): not counted as requests. */
  interrupted = 0;
  private activeVUs = 0;
  private maxVUsSeen = 0;
  private secRequests = 0;
  private secFailures = 0;
  private secDropped = 0;
  private secHist = secondHistogram();
  readonly checkName: string;
  private readonly url: string;
  private readonly sentBytes: number;
  private readonly connection: () => Sender;
  private readonly pool: (size: number) => Sender;
  // Keyed by scenario, then by status as a number: no key string is built per request.
  private readonly recorderCache = new Map<string, Map<number, Recorders>>();

  constructor(
    private readonly profile: LoadProfile,
    readonly store: MetricStore,
    private readonly opts: EngineOptions,
  ) {
    this.checkName = `status is ${profile.request.expectStatus.join('|')}`;
    // Per request, only what varies: headers, URL parts, sent size and tag sets are built once.
    const url = (this.url = profile.request.url ?? new URL(profile.request.path!, opts.baseUrl).toString());
    const headers = { ...profile.request.headers, ...opts.headers };
    const target = new URL(url);
    const origin = target.origin;
    const requestOptions = {
      origin,
      path: `${target.pathname}${target.search}`,
      method: profile.request.method as 'GET',
      headers,
      body: profile.request.body ?? null,
    };
    // Plain http: goes through the runner's own client, the request serialized once.
    const wire =
      target.protocol === 'http:' ? serializeRequest({ method: profile.request.method, url: target, headers, body: profile.request.body ?? null }) : undefined;
    const { host, port } = endpoint(target);
    const undiciOptions = { pipelining: 1, keepAliveTimeout: 10_000 };
    this.connection = () =>
      wire ? new H1Connection(host, port, wire, profile.request.method) : new UndiciSender(new Client(origin, undiciOptions), requestOptions);
    this.pool = (size) =>
      wire ? new H1Pool(host, port, wire, profile.request.method, size) : new UndiciSender(new Agent({ connections: size, ...undiciOptions }), requestOptions);
    this.sentBytes = wire ? wire.length : (profile.request.body?.length ?? 0) + url.length;
  }

  /** The current second's figures; the counters and histogram start again from zero. */
  takeWindow(): SecondWindow {
    const w: SecondWindow = {
      requests: this.secRequests,
      failures: this.secFailures,
      dropped: this.secDropped,
      hist: this.secHist,
      vus: this.activeVUs,
      maxVUs: this.maxVUsSeen,
    };
    this.secHist = secondHistogram();
    this.secRequests = this.secFailures = this.secDropped = 0;
    return w;
  }

  /**
   * Runs this thread's part of every scenario, each from `startPerf + startTime` (this
   * thread's performance.now() scale), until they end or `signal` aborts (the hard stop).
   */
  async run(signal: AbortSignal, startPerf: number): Promise<void> {
    await Promise.all(Object.entries(this.profile.scenarios).map(([n, s]) => this.runScenario(n, s, signal, startPerf + s.startTime)));
  }

  private recordersFor(scenario: string, status: number): Recorders {
    let byStatus = this.recorderCache.get(scenario);
    if (!byStatus) this.recorderCache.set(scenario, (byStatus = new Map()));
    let r = byStatus.get(status);
    if (!r) {
      const { store, profile, url } = this;
      const ok = profile.request.expectStatus.includes(status);
      const iter: Tags = { scenario, method: profile.request.method, name: profile.request.name, url };
      const req: Tags = { ...iter, status: String(status), expected_response: String(ok) };
      r = {
        ok,
        reqs: store.recorder('http_reqs', req),
        duration: store.recorder('http_req_duration', req),
        corrected: store.recorder('http_req_duration_corrected', req),
        failed: store.recorder('http_req_failed', req),
        checks: store.recorder('checks', { ...req, check: this.checkName }),
        iterations: store.recorder('iterations', iter),
        iterationDuration: store.recorder('iteration_duration', iter),
        received: store.recorder('data_received', req),
        sent: store.recorder('data_sent', req),
      };
      byStatus.set(status, r);
    }
    return r;
  }

  private async iteration(scenario: string, sender: Sender, stop: { interrupting: boolean }, intendedPerf?: number): Promise<void> {
    const p0 = performance.now();
    const { status, bytes } = await sent(sender);
    // Cut off by the run's own stop (k6's "interrupted iteration"): not the service's failure, so
    // neither a request nor a failed one — a drill's last second would otherwise show a breach.
    if (status === 0 && stop.interrupting) {
      this.interrupted++;
      return;
    }
    const end = performance.now();
    const dur = end - p0;
    const r = this.recordersFor(scenario, status);
    r.reqs(1);
    r.duration(dur);
    // From the intended start, or from the send if that was earlier: never below the raw latency.
    if (intendedPerf !== undefined) r.corrected(end - Math.min(intendedPerf, p0));
    r.failed(r.ok ? 0 : 1);
    r.checks(r.ok ? 1 : 0);
    r.iterations(1);
    r.iterationDuration(dur);
    r.received(bytes);
    r.sent(this.sentBytes);
    if (r.ok) this.checkPasses++;
    else this.checkFails++;
    this.secRequests++;
    if (!r.ok) this.secFailures++;
    this.secHist.recordValue(Math.round(dur * 1000));
  }

  // One connection pool per scenario, a connection per VU (as k6) up to maxConnections; VUs
  // beyond it queue for a connection, and that wait counts in their latency (the request is
  // timed from when the VU asks for it). Thousands of sockets on one event loop cost more
  // than they measure: at 5,000/s, uncapped, the pool's search for a free connection and
  // the connection churn made the runner drop a sixth of its iterations. Destroying it at the hard
  // stop interrupts that scenario's in-flight requests: cheaper than an abort listener per
  // request (EventTarget's duplicate check makes those O(in-flight) each).
  private async runScenario(name: string, s: ScenarioPlan, signal: AbortSignal, startPerf: number): Promise<void> {
    const part = shardScenario(s, this.opts.shard ?? { index: 0, count: 1 }, this.opts.maxConnections ?? 64);
    if (!part.active) return;
    await sleep(startPerf - performance.now(), signal);
    const dispatchers: Sender[] = [];
    const stop = { interrupting: false };
    const onRunAbort = () => {
      stop.interrupting = true;
      dispatchers.forEach((d) => void d.destroy());
    };
    signal.addEventListener('abort', onRunAbort, { once: true });
    const inflight = new Set<Promise<void>>();
    const length = scenarioDuration(s);
    const elapsed = () => performance.now() - startPerf;
    if (isArrivalRate(s)) {
      // Open model: iterations take any free connection from one pool.
      const shared = this.pool(part.connections);
      dispatchers.push(shared);
      let allocated = part.preAllocatedVUs;
      let busy = 0;
      this.maxVUsSeen = Math.max(this.maxVUsSeen, allocated);
      for (const off of shardOffsets(arrivalOffsets(s), part, this.opts.shard?.index ?? 0)) {
        if (signal.aborted) break;
        // Node's timers count whole milliseconds against a loop clock that may lag by one: a
        // wait under 1 ms would cost a wakeup of its own (two per iteration at drill rates, most
        // of the runner's CPU there). Such an iteration starts now, at most 1 ms early.
        const wait = off - elapsed();
        if (wait >= 1) await sleep(wait, signal);
        if (busy >= allocated) {
          if (allocated < part.maxVUs) {
            allocated++;
            this.maxVUsSeen = Math.max(this.maxVUsSeen, allocated);
          } else {
            this.store.add('dropped_iterations', 1, { scenario: name });
            this.secDropped++;
            continue;
          }
        }
        busy++;
        this.activeVUs++;
        const it = this.iteration(name, shared, stop, startPerf + off).finally(() => (busy--, this.activeVUs--, inflight.delete(it)));
        inflight.add(it);
      }
    } else {
      // Closed model: each VU keeps its own connection, as in k6 (VUs beyond maxConnections
      // share one and queue on it); no pool to search for a free connection on every request.
      this.maxVUsSeen = Math.max(this.maxVUsSeen, part.vus.length);
      for (let i = 0; i < part.connections; i++) dispatchers.push(this.connection());
      let shared = part.iterations;
      // `vu` is the VU's global number (a ramp adds VUs in that order across workers), `local` its place here.
      const vuLoop = async (vu: number, local: number) => {
        const connection = dispatchers[local % dispatchers.length]!;
        let mine = s.iterations ?? 0;
        while (!signal.aborted && elapsed() < length) {
          if (s.executor === 'ramping-vus' && vu >= vusAt(s.startVUs ?? 1, s.stages!, elapsed())) {
            await sleep(50, signal);
            continue;
          }
          if (s.executor === 'per-vu-iterations' && mine-- <= 0) break;
          if (s.executor === 'shared-iterations' && shared-- <= 0) break;
          this.activeVUs++;
          const it = this.iteration(name, connection, stop);
          inflight.add(it);
          try {
            await it;
          } finally {
            inflight.delete(it);
            this.activeVUs--;
          }
        }
      };
      await Promise.race([Promise.all(part.vus.map((vu, local) => vuLoop(vu, local))), sleep(length - elapsed() + 1, signal)]);
    }
    // Graceful stop: in-flight iterations may finish within gracefulStop, then are interrupted.
    await Promise.race([Promise.all([...inflight]), sleep(s.gracefulStop, signal)]);
    stop.interrupting = true;
    await Promise.all(dispatchers.map((d) => d.destroy()));
    await Promise.allSettled([...inflight]);
    signal.removeEventListener('abort', onRunAbort);
  }
}
