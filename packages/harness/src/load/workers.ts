// runLoad's worker threads, seen from the parent: start them (each with its shard), start
// them together, ask each for its second's window, forward a hard stop, and collect their
// ends. Transport only: merging is the runner's. A worker's error, or an exit before it
// said done, fails every pending request and the run — never a hang.
import { Worker } from 'node:worker_threads';
import type { LoadProfile } from '../define/load.ts';
import type { StoreDelta } from './metrics.ts';
import type { FromWorker, ToWorker, WireWindow, WorkerInit } from './worker-protocol.ts';

export interface WorkerDone {
  delta: StoreDelta;
  checkPasses: number;
  checkFails: number;
  /** The worker thread's own CPU-seconds over its run. */
  cpuSeconds: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // a failure is reported through whichever of these is awaited
  return { promise, resolve, reject };
}

class LoadWorker {
  readonly ready = deferred<void>();
  readonly done = deferred<WorkerDone>();
  private readonly windows: Array<Deferred<{ window: WireWindow; delta: StoreDelta }>> = [];
  private failure: Error | undefined;
  private finished = false;
  readonly exited: Promise<void>;

  constructor(
    readonly index: number,
    private readonly worker: Worker,
  ) {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') this.ready.resolve();
      else if (m.type === 'window') this.windows.shift()?.resolve({ window: m.window, delta: m.delta });
      else if (m.type === 'done') {
        this.finished = true;
        this.done.resolve({ delta: m.delta, checkPasses: m.checkPasses, checkFails: m.checkFails, cpuSeconds: m.cpuSeconds });
      }
    });
    worker.on('error', (err) => this.fail(new Error(`load worker ${index} failed: ${err.message}`, { cause: err })));
    worker.on('messageerror', (err) => this.fail(new Error(`load worker ${index}: a message could not be read: ${err.message}`, { cause: err })));
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        if (!this.finished) this.fail(new Error(`load worker ${index} exited (code ${code}) before its scenarios ended`));
        resolve();
      }),
    );
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.ready.reject(this.failure);
    this.done.reject(this.failure);
    for (const w of this.windows.splice(0)) w.reject(this.failure);
  }

  post(m: ToWorker): void {
    if (!this.failure) this.worker.postMessage(m);
  }

  window(): Promise<{ window: WireWindow; delta: StoreDelta }> {
    if (this.failure) return Promise.reject(this.failure);
    const d = deferred<{ window: WireWindow; delta: StoreDelta }>();
    this.windows.push(d);
    this.worker.postMessage({ type: 'flush' } satisfies ToWorker);
    return d.promise;
  }

  async terminate(): Promise<void> {
    this.finished = true; // an exit from here on is ours
    await this.worker.terminate();
    await this.exited;
  }
}

export interface LoadWorkersOptions {
  profile: LoadProfile;
  baseUrl: string;
  headers?: Record<string, string> | undefined;
  maxConnections?: number | undefined;
  count: number;
  /** Bounds the wait for the workers to load their modules (default 60 s). */
  readyTimeoutMs?: number;
}

export class LoadWorkers {
  private constructor(private readonly workers: LoadWorker[]) {}

  /** Starts `count` workers and waits until each has loaded and built its engine. */
  static async start(o: LoadWorkersOptions): Promise<LoadWorkers> {
    // Compiled (published), the worker is plain JavaScript; from source it needs tsx's loader first.
    const entry = import.meta.url.endsWith('.ts') ? new URL('./worker-entry.ts', import.meta.url) : new URL('./worker.js', import.meta.url);
    const workers = Array.from({ length: o.count }, (_, index) => {
      const init: WorkerInit = {
        profile: o.profile,
        baseUrl: o.baseUrl,
        headers: o.headers,
        maxConnections: o.maxConnections,
        shard: { index, count: o.count },
      };
      return new LoadWorker(index, new Worker(entry, { workerData: init, name: `drillbook-load-${index}` }));
    });
    const pool = new LoadWorkers(workers);
    const timeoutMs = o.readyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`load workers not ready within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(workers.map((w) => w.ready.promise)), timeout]);
    } catch (err) {
      await pool.terminate();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return pool;
  }

  begin(startAt: number): void {
    for (const w of this.workers) w.post({ type: 'start', startAt });
  }

  abort(): void {
    for (const w of this.workers) w.post({ type: 'abort' });
  }

  /** Every worker's window of the second just ended, with its samples since the last flush. */
  windows(): Promise<Array<{ window: WireWindow; delta: StoreDelta }>> {
    return Promise.all(this.workers.map((w) => w.window()));
  }

  /** Resolves when every worker's scenarios ended; rejects with the first worker's failure. */
  done(): Promise<WorkerDone[]> {
    return Promise.all(this.workers.map((w) => w.done.promise));
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
