// Helpers shared by the receiver tests: a gzip bomb built in memory, and a 50 ms ticker
// that reports the longest gap between its ticks while some work runs (a blocked event
// loop shows as a long gap).
import { performance } from 'node:perf_hooks';
import { createGzip } from 'node:zlib';

const MiB = 1024 * 1024;

/**
 * `totalMiB` of zeros as gzip: one member made by streaming 64 MiB of zero chunks through
 * gzip, repeated. A gzip file may hold several members (RFC 1952), and decoders inflate
 * them one after another, so the result inflates to the whole size while costing only one
 * member's compression time.
 */
export async function gzipBomb(totalMiB: number): Promise<Buffer> {
  const memberMiB = Math.min(64, totalMiB);
  const gz = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gz.on('data', (c: Buffer) => parts.push(c));
  const ended = new Promise<void>((resolve, reject) => gz.on('end', resolve).on('error', reject));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < memberMiB; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  gz.end();
  await ended;
  const member = Buffer.concat(parts);
  return Buffer.concat(Array.from({ length: Math.ceil(totalMiB / memberMiB) }, () => member));
}

/** Runs `work` beside a 50 ms interval timer; returns its result and the longest gap seen between ticks. */
export async function withTicker<T>(work: () => Promise<T>): Promise<{ result: T; maxGapMs: number; ticks: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  const tick = () => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  };
  const timer = setInterval(tick, 50);
  try {
    const result = await work();
    tick();
    return { result, maxGapMs, ticks };
  } finally {
    clearInterval(timer);
  }
}
