// The messages between runLoad and its load worker threads (workers.ts, worker.ts). They
// cross by structured clone: plain data, histograms compressed (lossless) as strings.
import type { LoadProfile } from '../define/load.ts';
import type { StoreDelta } from './metrics.ts';
import type { Shard } from './shard.ts';

/** What a worker is started with (workerData). */
export interface WorkerInit {
  profile: LoadProfile;
  baseUrl: string;
  headers?: Record<string, string> | undefined;
  maxConnections?: number | undefined;
  shard: Shard;
}

export type ToWorker =
  /** Run from `startAt`: ms on the common clock (performance.timeOrigin + performance.now()), the same instant in every thread. */
  | { type: 'start'; startAt: number }
  /** Send this second's window and the samples since the last flush. */
  | { type: 'flush' }
  /** Hard stop: interrupt in-flight requests and end. */
  | { type: 'abort' };

/** A second's window as it crosses threads (engine.ts SecondWindow). */
export interface WireWindow {
  requests: number;
  failures: number;
  dropped: number;
  vus: number;
  maxVUs: number;
  /** The second's latency histogram (µs), compressed; absent when it is empty. */
  hist?: string;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'window'; window: WireWindow; delta: StoreDelta }
  /** The worker's scenarios ended: its last samples, its check counts and its own thread's CPU. */
  | { type: 'done'; delta: StoreDelta; checkPasses: number; checkFails: number; cpuSeconds: number };

/** The clock every thread shares: performance.now() counts from each thread's own origin. */
export const commonNow = () => performance.timeOrigin + performance.now();
