// CPU stress on the machine that runs the stage or the host: stress-ng when installed,
// else Node busy-loop workers with the same duty cycle. The stressor runs detached in
// its own process group with its own timeout, so it ends by itself if the harness dies.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from '@drillbook/stage';
import type { EnvironmentConfig, StressFault } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, RevertRecord } from '../../engine/types.ts';
import { isAlive, waitFor } from './os-process.ts';

export const STRESS_NG = ['/usr/bin/stress-ng', '/usr/local/bin/stress-ng'].find((p) => existsSync(p));

/** A busy loop that burns `load`% of one core in 100 ms slices, and quits after `seconds`. */
const NODE_BURNER = `
const [load, seconds] = process.argv.slice(1).map(Number);
const end = Date.now() + seconds * 1000;
(function slice() {
  if (Date.now() > end) process.exit(0);
  const busyUntil = Date.now() + load;
  while (Date.now() < busyUntil) {}
  setTimeout(slice, 100 - load);
})();`;

/**
 * Starts the stressor; returns the pids (each its own process group). With `cgroups` (cgroup
 * directories: the v2 one, or v1's cpu/cpuacct/cpuset) each process enters them before it starts
 * burning — how a container is stressed "from inside" (its CPU quota and accounting), as Chaos
 * Mesh's StressChaos attaches its stressors.
 */
export function startStressor(workers: number, load: number, seconds: number, cgroups: readonly string[] = []): number[] {
  const commands: string[][] = STRESS_NG
    ? [[STRESS_NG, '--cpu', String(workers), '--cpu-load', String(load), '--timeout', `${seconds}s`, '--quiet']]
    : Array.from({ length: workers }, () => [process.execPath, '-e', NODE_BURNER, String(load), String(seconds)]);
  // The shell writes its own pid into each cgroup, then becomes the stressor: no moment outside them.
  const enter = 'n=$0; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 97; shift; n=$((n-1)); done; exec "$@"';
  return commands.map(([cmd, ...args]) => {
    const [file, argv] = cgroups.length
      ? ['/bin/sh', ['-c', enter, String(cgroups.length), ...cgroups.map((dir) => join(dir, 'cgroup.procs')), cmd!, ...args]]
      : [cmd!, args];
    const child = spawn(file, argv, { detached: true, stdio: 'ignore', env: childEnv() });
    child.unref();
    return child.pid!;
  });
}

function stressorPids(record: RevertRecord): number[] {
  try {
    return JSON.parse(readFileSync((record.data as { pidFile: string }).pidFile, 'utf8')) as number[];
  } catch {
    return []; // never started, or already reverted
  }
}

export const stressProvider: FaultProvider = {
  name: 'local-stress',

  supports(fault, env: EnvironmentConfig) {
    return (env.kind === 'local' || env.kind === 'hosts') && fault.kind === 'stress';
  },

  async prepare(fault, faultId): Promise<RevertRecord> {
    const s = fault as StressFault;
    return {
      faultId,
      provider: 'local-stress',
      // The pids are known only after spawn, so they go to a file named here, before inject.
      data: { pidFile: join(tmpdir(), `drillbook-stress-${faultId}.pids`), workers: s.cpu.workers, load: s.cpu.load, tool: STRESS_NG ? 'stress-ng' : 'node' },
      deadline: Date.now() + s.duration,
      description: `kill CPU stressor (${s.cpu.workers} workers at ${s.cpu.load}%)`,
    };
  },

  async inject(fault, record, ctx): Promise<InjectedFault> {
    const s = fault as StressFault;
    // A grace of 30 s past the duration: the engine reverts on time; this only bounds a crash.
    const pgids = startStressor(s.cpu.workers, s.cpu.load, Math.ceil(s.duration / 1000) + 30);
    writeFileSync((record.data as { pidFile: string }).pidFile, JSON.stringify(pgids), { flush: true });
    const ok = await waitFor(() => pgids.every(isAlive), 2_000, 10);
    if (!ok) throw new Error('the CPU stressor did not start');
    return { tInject: ctx.clock.now(), targets: [`${s.cpu.workers} CPU workers at ${s.cpu.load}% (${(record.data as { tool: string }).tool})`] };
  },

  revert: stopStressors,
  status: stressorStatus,
};

/** Kills every stressor a record's pid file names (their whole process groups). */
export async function stopStressors(record: RevertRecord): Promise<void> {
  const pgids = stressorPids(record);
  for (const pgid of pgids) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => pgids.every((p) => !isAlive(p)), 5_000, 10);
  rmSync((record.data as { pidFile: string }).pidFile, { force: true });
}

export async function stressorStatus(record: RevertRecord): Promise<FaultStatus> {
  const alive = stressorPids(record).filter(isAlive);
  return { active: alive.length > 0, detail: `${alive.length} stressor process(es) running` };
}
