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
    await delay(ms, undefined, signal ? { signal } : {});
  }
}

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * Virtual time. `sleep` registers a timer; when every piece of work is waiting on a
 * timer (nothing left to run after the microtask queue and one macrotask turn), the
 * clock jumps to the earliest timer and wakes it. Timers due at the same instant wake
 * in the order they were set. Real I/O awaited under a virtual clock is not waited for
 * in virtual time: use it with simulated probes and providers.
 */
export class VirtualClock implements Clock {
  readonly kind = 'virtual' as const;
  private t: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private pumping = false;
  /** How many times the clock jumped; for tests and benchmarks. */
  jumps = 0;

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
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve };
      this.insert(timer);
      if (signal) {
        const onAbort = () => {
          const i = this.timers.indexOf(timer);
          if (i >= 0) this.timers.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        timer.resolve = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      }
      this.schedulePump();
    });
  }

  /** Pending timers, for tests. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, waking every timer due on the way (manual mode). */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
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
    // Wake every timer due at this instant together: one settle per instant, not per timer.
    while (this.timers.length > 0 && this.timers[0]!.at <= this.t) this.timers.shift()!.resolve();
  }

  private schedulePump(): void {
    if (!this.autoAdvance || this.pumping) return;
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        await settle();
        if (this.timers.length === 0) return;
        this.wakeEarliest();
      }
    } finally {
      this.pumping = false;
      if (this.timers.length > 0) this.schedulePump();
    }
  }
}

/** Lets every runnable continuation run: the microtask queue drains before a macrotask turn. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
