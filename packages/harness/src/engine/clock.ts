// The two clocks. Everything time-based in the engine goes through one of them, so the
// same timeline runs in wall time against a stage or in virtual time in a test.
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './types.ts';

export class RealClock implements Clock {
  readonly kind = 'real' as const;

  now(): number {
    return Date.now();
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    try {
      await delay(ms, undefined, signal ? { signal } : {});
    } catch (err) {
      // The contract: reject with the signal's reason, as the virtual clock does.
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  }
}

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
}

/**
 * Virtual time. `sleep` registers a timer; when every piece of work is waiting on a
 * timer — the microtask queue is empty, and immediates queued by then have run — the
 * clock jumps to the earliest timer and wakes it. Timers due at the same instant wake in
 * the order they were set. Real I/O awaited under a virtual clock is not waited for in
 * virtual time: use it with simulated probes and providers.
 */
export class VirtualClock implements Clock {
  readonly kind = 'virtual' as const;
  private t: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private pumping = false;
  /** How many times the clock jumped; for tests and benchmarks. */
  jumps = 0;
  /** How many event-loop turns it waited for queued immediates; for tests and benchmarks. */
  turns = 0;

  constructor(
    start = Date.UTC(2026, 0, 1),
    private readonly autoAdvance = true,
  ) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve, reject, signal };
      this.insert(timer);
      if (signal) this.watch(signal, timer);
      this.schedulePump();
    });
  }

  // One abort listener per signal rather than one per sleep: a probe loop sleeps on the
  // same signal hundreds of thousands of times, and EventTarget listeners are not cheap.
  private readonly bySignal = new WeakMap<AbortSignal, Set<Timer>>();

  private watch(signal: AbortSignal, timer: Timer): void {
    let set = this.bySignal.get(signal);
    if (!set) {
      const timers = new Set<Timer>();
      set = timers;
      this.bySignal.set(signal, timers);
      signal.addEventListener(
        'abort',
        () => {
          for (const t of timers) {
            const i = this.timers.indexOf(t);
            if (i >= 0) this.timers.splice(i, 1);
            t.reject(signal.reason);
          }
          timers.clear();
        },
        { once: true },
      );
    }
    set.add(timer);
  }

  /** Pending timers, for tests. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, waking every timer due on the way (manual mode). */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    await settle();
    while (this.timers.length > 0 && this.timers[0]!.at <= until) {
      this.wakeEarliest();
      await settle();
    }
    this.t = until;
  }

  /** Runs until no timer is left (manual mode). */
  async runUntilIdle(): Promise<void> {
    await settle();
    while (this.timers.length > 0) {
      this.wakeEarliest();
      await settle();
    }
  }

  private insert(timer: Timer): void {
    // Binary search keeps the queue ordered by (at, seq); most inserts land near the end.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.timers[mid]!;
      if (m.at < timer.at || (m.at === timer.at && m.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
  }

  private wakeEarliest(): void {
    const first = this.timers[0]!;
    if (first.at > this.t) {
      this.t = first.at;
      this.jumps++;
    }
    // Wake every timer due at this instant together: one drain per instant, not per timer.
    while (this.timers.length > 0 && this.timers[0]!.at <= this.t) {
      const timer = this.timers.shift()!;
      if (timer.signal) this.bySignal.get(timer.signal)?.delete(timer);
      timer.resolve();
    }
  }

  private schedulePump(): void {
    if (!this.autoAdvance || this.pumping) return;
    this.pumping = true;
    afterMicrotasks(this.pump);
  }

  // Synchronous and callback-driven: one jump costs a tick, not an event-loop turn, which
  // is what lets 72 h of 1 s probes run in about a second.
  private readonly pump = (): void => {
    if (immediatesQueued()) {
      // At most one event-loop turn per jump: Node's immediate count can lag (it still
      // counts immediates that ran earlier in the same batch), and looping on it could spin.
      this.turns++;
      setImmediate(() => afterMicrotasks(this.wake));
      return;
    }
    this.wake();
  };

  private readonly wake = (): void => {
    if (this.timers.length === 0) {
      this.pumping = false;
      return;
    }
    this.wakeEarliest();
    afterMicrotasks(this.pump);
  };
}

/**
 * Calls `fn` once the microtask queue is empty. A tick queued from inside a microtask
 * runs only after Node has drained every microtask, including those queued meanwhile.
 */
function afterMicrotasks(fn: () => void): void {
  queueMicrotask(() => process.nextTick(fn));
}

/** Someone has work queued for the next event-loop turn: let it run before time moves. */
function immediatesQueued(): boolean {
  return process.getActiveResourcesInfo().includes('Immediate');
}

/** Lets every runnable continuation run (microtasks, then one turn for queued immediates). */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => afterMicrotasks(resolve));
  if (!immediatesQueued()) return;
  await new Promise<void>((resolve) => setImmediate(() => afterMicrotasks(resolve)));
}
