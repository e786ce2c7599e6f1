// CPU stress inside a containers environment's service: the stressor runs on this machine but in
// the selected containers' own cgroups (as Chaos Mesh's StressChaos attaches its stressors), so the
// container's CPU quota and accounting feel it, not the host's spare cores. Needs the Docker engine
// on this machine, cgroup v2 and the right to write the container's cgroup.procs (root).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentConfig, StressFault } from '../../define/types.ts';
import type { FaultProvider, InjectedFault, RevertRecord } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { isAlive, waitFor } from '../local/os-process.ts';
import { selectTargets } from '../local/select.ts';
import { STRESS_NG, startStressor, stopStressors, stressorStatus } from '../local/stress.ts';
import { inspect } from './process.ts';
import { requireContainerTarget } from './targets.ts';

type Data = { pidFile: string; victims: Array<{ id: string; name: string }>; workers: number; load: number; tool: string };

/** The v1 controllers a CPU stressor must share with the container. */
const CPU_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset'];

/**
 * Pure: the cgroup directories of a process from its /proc/<pid>/cgroup text — v1's cpu, cpuacct
 * and cpuset hierarchies (`4:cpu,cpuacct:/docker/<id>`) when it has them, else the v2 one
 * (`0::/system.slice/docker-<id>.scope`). `exists` says whether a directory is there to use.
 */
export function cgroupDirsOf(procCgroup: string, exists: (dir: string) => boolean, root = '/sys/fs/cgroup'): string[] {
  const lines = procCgroup
    .split('\n')
    .map((l) => /^(\d+):([^:]*):(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null);
  const v1: string[] = [];
  for (const [, , controllers, path] of lines) {
    const names = controllers!.split(',');
    if (!names.some((c) => CPU_CONTROLLERS.includes(c))) continue;
    // Mounted as the joined name (cpu,cpuacct) or as each controller's own (cpu → a link to it).
    const dir = [controllers!, ...names].map((m) => join(root, m, path!)).find(exists);
    if (dir && !v1.includes(dir)) v1.push(dir);
  }
  if (v1.length) return v1;
  const unified = lines.find((m) => m[1] === '0' && m[2] === '');
  if (!unified) return [];
  return [join(root, unified[3]!), join(root, 'unified', unified[3]!)].filter(exists).slice(0, 1);
}

async function cgroupsOf(id: string, name: string): Promise<string[]> {
  const s = await inspect(id);
  if (!s?.running || s.pid <= 0) throw new EnvironmentError(`container ${name} is not running: nothing to stress`);
  let text: string;
  try {
    text = readFileSync(`/proc/${s.pid}/cgroup`, 'utf8');
  } catch {
    throw new EnvironmentError(`container ${name}'s main process (pid ${s.pid}) is not on this machine: stress needs the Docker engine local`);
  }
  const dirs = cgroupDirsOf(text, (dir) => existsSync(join(dir, 'cgroup.procs')));
  if (!dirs.length) throw new EnvironmentError(`container ${name} has no CPU cgroup this harness can see (${text.trim().replace(/\n/g, ' ').slice(0, 160)})`);
  return dirs;
}

export const containerStressProvider: FaultProvider = {
  name: 'container-stress',

  supports(fault, env: EnvironmentConfig) {
    return env.kind === 'containers' && fault.kind === 'stress';
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const s = fault as StressFault;
    const target = requireContainerTarget(ctx.resolveTarget, s.target);
    const running: Array<{ id: string; name: string }> = [];
    for (const r of target.replicas) if ((await inspect(r.id))?.running) running.push({ id: r.id, name: r.name });
    if (!running.length) throw new EnvironmentError(`no running container for service '${target.name}'`);
    const victims = selectTargets(running, s.selection ?? { mode: 'one' });
    return {
      faultId,
      provider: 'container-stress',
      data: {
        pidFile: join(tmpdir(), `drillbook-stress-${faultId}.pids`),
        victims,
        workers: s.cpu.workers,
        load: s.cpu.load,
        tool: STRESS_NG ? 'stress-ng' : 'node',
      } satisfies Data,
      deadline: Date.now() + s.duration,
      description: `kill CPU stressors in container ${victims.map((v) => v.name).join(', ')}`,
    };
  },

  async inject(fault, record, ctx): Promise<InjectedFault> {
    const s = fault as StressFault;
    const d = record.data as Data;
    const groups: string[][] = [];
    for (const v of d.victims) groups.push(await cgroupsOf(v.id, v.name));
    const seconds = Math.ceil(s.duration / 1000) + 30; // bounds a crash; the engine reverts on time
    const started = groups.map((dirs) => ({ dirs, pids: startStressor(d.workers, d.load, seconds, dirs) }));
    writeFileSync(d.pidFile, JSON.stringify(started.flatMap((x) => x.pids)), { flush: true });
    // Each stressor must really be in its container's cgroups, or this fault would stress the host instead.
    const inCgroup = (pid: number, dir: string) => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid));
    const inside = await waitFor(
      () => started.every(({ dirs, pids }) => pids.every((pid) => isAlive(pid) && dirs.every((dir) => inCgroup(pid, dir)))),
      2_000,
      10,
    );
    if (!inside) throw new Error(`the stressors did not start inside the containers' cgroups (${groups.flat().join(', ')})`);
    return { tInject: ctx.clock.now(), targets: d.victims.map((v) => `${v.name}: ${d.workers} CPU workers at ${d.load}% (${d.tool})`) };
  },

  revert: stopStressors,
  status: stressorStatus,
};
