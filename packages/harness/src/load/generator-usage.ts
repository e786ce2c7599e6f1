// What the load generator itself costs: CPU-seconds, wall seconds and their ratio (the
// share of one core it took from the machine the system under test also runs on), and,
// for processes measured from outside, the parsing of /proc/<pid>/stat and status.
// Pure functions; the reads of /proc and process.cpuUsage() happen at the callers' edges.

export interface GeneratorUsage {
  /** User + system CPU time of the generating process over the run (all its threads). */
  cpuSeconds: number;
  wallSeconds: number;
  /** cpuSeconds / wallSeconds: 1.0 is one core fully busy. */
  cpuShare: number;
  /** Threads generating load: 1 is the runner's own event loop; more are worker threads (the profile's `workers`). */
  workers: number;
  /**
   * With worker threads: each one's own CPU-seconds over its run (process.threadCpuUsage()).
   * They are part of cpuSeconds, which also holds the thread that merges their samples.
   */
  workerCpuSeconds?: number[];
  /** What was measured: the in-process runner shares its process with whatever embeds it. */
  scope: 'process';
}

/** From two process.cpuUsage() readings (µs) and the wall time between them (ms). */
export function generatorUsage(
  start: { user: number; system: number },
  end: { user: number; system: number },
  wallMs: number,
  workers = 1,
  workerCpuSeconds?: number[],
): GeneratorUsage {
  const cpuSeconds = (end.user - start.user + end.system - start.system) / 1e6;
  const wallSeconds = wallMs / 1000;
  return {
    cpuSeconds,
    wallSeconds,
    cpuShare: wallSeconds > 0 ? cpuSeconds / wallSeconds : 0,
    workers,
    ...(workerCpuSeconds ? { workerCpuSeconds } : {}),
    scope: 'process',
  };
}

/** CPU-seconds per 10,000 requests: a generator's cost, comparable across tools and rates. */
export function cpuPer10k(cpuSeconds: number, requests: number): number {
  return requests > 0 ? (cpuSeconds / requests) * 10_000 : NaN;
}

export interface ProcCpuTicks {
  /** utime + stime of the process itself, in clock ticks. */
  self: number;
  /** cutime + cstime: its children that exited and were waited for, in clock ticks. */
  children: number;
  /** cstime alone: the kernel's part of `children`. */
  childrenSystem: number;
}

/**
 * /proc/<pid>/stat: fields 14–17 (utime, stime, cutime, cstime). The command name (field 2)
 * is in parentheses and may hold spaces or ')', so fields are counted after its last ')'.
 */
export function parseProcStat(text: string): ProcCpuTicks {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`/proc stat line not understood: '${text.slice(0, 80)}'`);
  // After ') ': field 3 (state) is index 0, so field n is index n − 3.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const n = (field: number) => {
    const v = Number(f[field - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc stat field ${field} missing in '${text.slice(0, 80)}'`);
    return v;
  };
  return { self: n(14) + n(15), children: n(16) + n(17), childrenSystem: n(17) };
}

/** Peak resident set size (VmHWM) in KiB from /proc/<pid>/status, if the process still has one. */
export function parseVmHwmKiB(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) : undefined;
}
