// Load generators as separate processes pinned to a core, and what each costs, read from
// outside: wrk (CPU from this process's cutime/cstime once it is reaped, i.e. the kernel's
// wait4 rusage; peak RSS polled from /proc/<pid>/status), and Node generators that report
// their own getrusage around the run (gen-embedded.ts, gen-autocannon.mjs), so start-up
// (tsx compiling the harness) is not charged to the run.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseProcStat, parseVmHwmKiB } from '../packages/harness/src/load/generator-usage.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

export interface GeneratorRun {
  tool: string;
  requests: number;
  failures: number;
  seconds: number;
  p50Ms?: number;
  p99Ms?: number;
  correctedP99Ms?: number;
  dropped?: number;
  cpuSeconds: number;
  /** The part of cpuSeconds spent in the kernel (socket syscalls, loopback TCP). */
  systemCpuSeconds?: number;
  wallSeconds: number;
  maxRssKiB: number | undefined;
  /** Peak RSS when the Node generator was ready, before the run (its start-up alone). */
  startRssKiB?: number;
  /** What the runner's own LoadSummary said it cost (embedded only): from its start to its end, worker start-up left out. */
  runnerReported?: { cpuSeconds: number; wallSeconds: number; cpuShare: number; workerCpuSeconds?: number[] };
  /** Requests the target counted while this generator ran, and the target's own CPU. */
  serverCount: number;
  targetCpuSeconds: number;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100; // USER_HZ on every common Linux architecture
  }
})();

const procTicks = (pid: number | 'self') => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const hwm = (pid: number) => {
  try {
    return parseVmHwmKiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined; // already gone
  }
};

/** argv under `taskset -c <core>` when a core is given. */
const pinned = (core: number | undefined, argv: string[]) => (core === undefined ? argv : ['taskset', '-c', String(core), ...argv]);

export interface Target {
  url: string;
  pid: number;
  child: ChildProcess;
  count(): Promise<number>;
  cpuSeconds(): number;
}

/** bench/target.mjs in its own process, pinned to `core` when given. */
export async function startTarget(core?: number): Promise<Target> {
  const argv = [process.execPath, join(here, 'target.mjs')];
  const full = pinned(core, argv);
  const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    pid: child.pid!,
    child,
    count: async () => ((await (await fetch(`${url}__count`)).json()) as { requests: number }).requests,
    cpuSeconds: () => procTicks(child.pid!).self / CLK_TCK,
  };
}

/** Runs `body` between two readings of the target's count and CPU. */
async function aroundTarget<T>(target: Target, body: () => Promise<T>): Promise<T & { serverCount: number; targetCpuSeconds: number }> {
  const n0 = await target.count();
  const c0 = target.cpuSeconds();
  const r = await body();
  const c1 = target.cpuSeconds();
  const n1 = await target.count();
  return { ...r, serverCount: n1 - n0, targetCpuSeconds: c1 - c0 };
}

/** wrk 4 with `threads` threads, 50 connections; its CPU is the kernel's rusage of the reaped child. */
export async function runWrk(target: Target, o: { core?: number; threads: number; connections: number; seconds: number }): Promise<GeneratorRun> {
  return aroundTarget(target, async () => {
    const before = procTicks('self');
    const t0 = performance.now();
    const argv = pinned(o.core, ['/usr/bin/wrk', `-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', target.url]);
    const child = execFile(argv[0]!, argv.slice(1));
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    let peak: number | undefined;
    const poll = setInterval(() => (peak = Math.max(peak ?? 0, hwm(child.pid!) ?? 0)), 100);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearInterval(poll);
    const wallSeconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`wrk exited with ${code}: ${stdout}`);
    const after = procTicks('self');
    const cpuSeconds = (after.children - before.children) / CLK_TCK;
    const systemCpuSeconds = (after.childrenSystem - before.childrenSystem) / CLK_TCK;
    const pct = (p: string) => wrkMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(stdout)![1]!);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    return {
      tool: o.threads === 1 ? 'wrk' : `wrk -t${o.threads}`,
      requests: Number(/(\d+) requests in/.exec(stdout)![1]),
      failures: non2xx + (sockErr ? sockErr.slice(1).reduce((a, n) => a + Number(n), 0) : 0),
      seconds: o.seconds,
      p50Ms: pct('50'),
      p99Ms: pct('99'),
      cpuSeconds,
      systemCpuSeconds,
      wallSeconds,
      maxRssKiB: peak || undefined,
    };
  });
}

/** wrk's latency figures come as `612.00us`, `2.10ms`, `1.02s`. */
export function wrkMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) throw new Error(`wrk latency '${v}' not understood`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1_000, m: 60_000 }[m[2] as 'us']!;
}

type RunnerReported = NonNullable<GeneratorRun['runnerReported']>;
type ChildDone = Omit<GeneratorRun, 'tool' | 'seconds' | 'serverCount' | 'targetCpuSeconds'> & { generator?: RunnerReported };

/** A Node generator speaking the READY / go / DONE protocol; the target is read around "go" … "DONE". */
async function runNodeChild(
  target: Target,
  tool: string,
  seconds: number,
  argv: string[],
  core: number | undefined,
  extraNodeArgs: string[] = [],
): Promise<GeneratorRun> {
  const [script, ...rest] = argv;
  const full = pinned(core, [process.execPath, ...extraNodeArgs, script!, ...rest]);
  const child = spawn(full[0]!, full.slice(1), { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      void exited.then((c) => reject(new Error(`${tool} generator exited with ${c}`)));
    });
  if ((await nextLine()) !== 'READY') throw new Error(`${tool} generator did not say READY`);
  const r = await aroundTarget(target, async () => {
    const done = nextLine();
    child.stdin!.write('go\n');
    const line = await done;
    if (!line.startsWith('DONE ')) throw new Error(`${tool} generator: unexpected '${line}'`);
    return JSON.parse(line.slice(5)) as ChildDone;
  });
  child.stdin!.end();
  await exited;
  const { generator, ...rest2 } = r;
  const runnerReported = generator
    ? {
        cpuSeconds: generator.cpuSeconds,
        wallSeconds: generator.wallSeconds,
        cpuShare: generator.cpuShare,
        ...(generator.workerCpuSeconds ? { workerCpuSeconds: generator.workerCpuSeconds } : {}),
      }
    : undefined;
  return { tool, seconds, ...rest2, ...(runnerReported ? { runnerReported } : {}) };
}

export function runAutocannon(target: Target, o: { core?: number; connections: number; seconds: number; overallRate?: number }): Promise<GeneratorRun> {
  const cfg = JSON.stringify({ url: target.url, connections: o.connections, seconds: o.seconds, ...(o.overallRate ? { overallRate: o.overallRate } : {}) });
  return runNodeChild(target, 'autocannon', o.seconds, [join(here, 'gen-autocannon.mjs'), cfg], o.core);
}

/** The embedded runner in its own process under tsx, as `drill load` runs. `nodeArgs` e.g. ['--cpu-prof']. */
export interface EmbeddedRun {
  core?: number;
  seconds: number;
  scenario: Record<string, unknown>;
  tool?: string;
  nodeArgs?: string[];
  /** Another generator script speaking the same protocol (default gen-embedded.ts). */
  script?: string;
  /** The runner's worker threads (RunLoadOptions.workers); default 1, its own event loop. */
  workers?: number;
}

export function runEmbedded(target: Target, o: EmbeddedRun): Promise<GeneratorRun> {
  const cfg = JSON.stringify({ url: target.url, scenario: o.scenario, ...(o.workers ? { workers: o.workers } : {}) });
  const script = o.script ?? join(here, 'gen-embedded.ts');
  return runNodeChild(target, o.tool ?? 'embedded', o.seconds, [script, cfg], o.core, ['--import', 'tsx', ...(o.nodeArgs ?? [])]);
}
