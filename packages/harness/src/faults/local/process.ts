// pod-kill and pod-failure on processes: a stage replica (pids from the stage host) or a
// host's own process (pid file or command line). Kill = SIGKILL, confirmed when the pid is
// gone; failure = SIGSTOP for the duration, confirmed in /proc, reverted by SIGCONT.
// Never the harness's own process tree: see process-guard.ts.
import type { EnvironmentConfig, FaultMode, FaultSpec } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import type { FaultProvider, FaultStatus, InjectedFault, ProviderContext, RevertRecord } from '../../engine/types.ts';
import { isSameProcessRunning, processStartTime } from '../../engine/process-identity.ts';
import { selectTargets } from './select.ts';
import { stageControl } from './stage-control.ts';
import { requireLocalTarget, type LocalTarget } from './targets.ts';
import { commandLineOf, isAlive, isStopped, signal, waitFor, type ProcessInfo } from './os-process.ts';
import { harnessTree, hostCandidates, type ExcludedProcess } from './process-guard.ts';

interface Victim {
  pid: number;
  label: string;
  /** /proc start time when chosen: a victim that exited and whose pid was reused is not signalled. Absent in older journals. */
  startTime?: number;
}

/** What a process fault would hit now, for `drill run --dry-run`: read from /proc and the stage, nothing signalled. */
export interface BlastRadius {
  target: string;
  action: 'SIGKILL' | 'SIGSTOP';
  selection: FaultMode;
  /** How many of `processes` the fault hits: all of them, or that many picked at random when it goes in. */
  hits: number;
  processes: ProcessInfo[];
  /** Processes the target's pattern matched that a fault never touches, and why. */
  excluded: ExcludedProcess[];
}

type ProcessFault = Extract<FaultSpec, { kind: 'pod-kill' | 'pod-failure' }>;

function asProcessFault(fault: FaultSpec): ProcessFault {
  if (fault.kind !== 'pod-kill' && fault.kind !== 'pod-failure') throw new Error(`${fault.kind} is not a process fault (pod-kill or pod-failure)`);
  if (!fault.target) throw new Error(`${fault.kind} needs a target`);
  return fault;
}

/** The processes the target names, with those the guard set aside. */
async function pool(fault: ProcessFault, target: LocalTarget): Promise<{ processes: ProcessInfo[]; excluded: ExcludedProcess[] }> {
  switch (target.kind) {
    case 'stage-service': {
      // The stage's replicas are the harness's own children by design; only itself and its launchers are off limits.
      const tree = harnessTree();
      const processes: ProcessInfo[] = [];
      for (const r of await stageControl.replicas(target.controlUrl, target.controlToken)) {
        if (!isAlive(r.pid)) continue;
        const relation = tree.get(r.pid);
        if (relation === 'the harness itself' || relation === 'an ancestor of the harness (its launcher)')
          throw new EnvironmentError(
            `target '${target.name}': the stage reports replica ${r.name} as pid ${r.pid}, which is ${relation}; nothing was signalled`,
          );
        processes.push({ pid: r.pid, commandLine: `${r.name}: ${commandLineOf(r.pid) ?? ''}` });
      }
      return { processes, excluded: [] };
    }
    case 'host':
      return hostCandidates(target.name, target.target);
    case 'stage-database':
      throw new Error(`${fault.kind} of the database: use fault.dependencyOutage({ target: '${target.name}' }) instead`);
  }
}

/**
 * The exact processes a pod-kill or pod-failure would hit now, without touching them. Throws
 * (EnvironmentError, naming the target and why) exactly when `prepare` would refuse the target.
 */
export async function blastRadius(fault: FaultSpec, target: LocalTarget): Promise<BlastRadius> {
  const f = asProcessFault(fault);
  const { processes, excluded } = await pool(f, target);
  return {
    target: target.name,
    action: f.kind === 'pod-kill' ? 'SIGKILL' : 'SIGSTOP',
    selection: f.selection,
    hits: selectTargets(processes, f.selection).length,
    processes,
    excluded,
  };
}

function victimOf(target: LocalTarget, p: ProcessInfo): Victim {
  const label = target.kind === 'stage-service' ? `${p.commandLine.split(':')[0]} (pid ${p.pid})` : `pid ${p.pid} (${p.commandLine})`;
  const startTime = processStartTime(p.pid);
  return { pid: p.pid, label, ...(startTime === undefined ? {} : { startTime }) };
}

/** Still the very process that was chosen (not gone, not a newcomer on a reused pid). */
const stillThere = (v: Victim) => isSameProcessRunning(v.pid, v.startTime);

export const processProvider: FaultProvider = {
  name: 'local-process',

  supports(fault: FaultSpec, env: EnvironmentConfig) {
    return (env.kind === 'local' || env.kind === 'hosts') && (fault.kind === 'pod-kill' || fault.kind === 'pod-failure');
  },

  async prepare(fault, faultId, ctx: ProviderContext): Promise<RevertRecord> {
    const f = asProcessFault(fault);
    const target = requireLocalTarget(ctx.resolveTarget, f.target);
    const { processes, excluded } = await pool(f, target);
    for (const e of excluded) ctx.log('info', `${f.kind} on '${target.name}' leaves pid ${e.pid} alone: ${e.reason} (${e.commandLine})`);
    if (processes.length === 0) throw new EnvironmentError(`no running process found for target '${target.name}'`);
    const victims = selectTargets(processes, f.selection).map((p) => victimOf(target, p));
    const pause = f.kind === 'pod-failure';
    return {
      faultId,
      provider: 'local-process',
      data: { action: pause ? 'pause' : 'kill', victims },
      description: `${pause ? 'SIGCONT' : 'nothing to undo after SIGKILL of'} ${victims.map((v) => v.label).join(', ')}`,
      ...(pause && f.duration ? { deadline: Date.now() + f.duration } : {}),
    };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { action, victims } = record.data as { action: 'kill' | 'pause'; victims: Victim[] };
    const gone = victims.filter((v) => !stillThere(v));
    if (gone.length) throw new EnvironmentError(`${gone.map((v) => v.label).join(', ')} exited between choosing and injecting; nothing was signalled`);
    for (const v of victims) signal(v.pid, action === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    const confirmed = await waitFor(() => victims.every((v) => (action === 'kill' ? !stillThere(v) : isStopped(v.pid))), 5_000, 5);
    if (!confirmed) throw new Error(`${action} of ${victims.map((v) => v.label).join(', ')} not confirmed within 5 s`);
    return { tInject: ctx.clock.now(), targets: victims.map((v) => v.label) };
  },

  async revert(record) {
    const { action, victims } = record.data as { action: 'kill' | 'pause'; victims: Victim[] };
    if (action === 'kill') return; // the supervisor restarts the process; recovery is what the probes measure
    // A victim that has exited meanwhile is not ours any more: its pid may belong to someone else now.
    for (const v of victims) if (stillThere(v)) signal(v.pid, 'SIGCONT');
    const ok = await waitFor(() => victims.every((v) => !stillThere(v) || !isStopped(v.pid)), 5_000, 5);
    if (!ok) throw new Error(`SIGCONT of ${victims.map((v) => v.label).join(', ')} not confirmed`);
  },

  async status(record): Promise<FaultStatus> {
    const { action, victims } = record.data as { action: 'kill' | 'pause'; victims: Victim[] };
    if (action === 'kill') return { active: false, detail: 'a kill is one-shot' };
    const stopped = victims.filter((v) => stillThere(v) && isStopped(v.pid));
    return { active: stopped.length > 0, detail: stopped.length ? `stopped: ${stopped.map((v) => v.label).join(', ')}` : 'all running' };
  },
};
