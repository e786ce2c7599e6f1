// pod-kill and pod-failure on processes: a stage replica (pids from the stage host) or a
// host's own process (pid file or command line). Kill = SIGKILL, confirmed when the pid is
// gone; failure = SIGSTOP for the duration, confirmed in /proc, reverted by SIGCONT.
import type { EnvironmentConfig, FaultSpec } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, ProviderContext, RevertRecord } from '../../engine/types.ts';
import { selectTargets } from './select.ts';
import { stageControl } from './stage-control.ts';
import { requireLocalTarget } from './targets.ts';
import { isAlive, isStopped, pidFromFile, pidsByCommandLine, signal, waitFor } from './os-process.ts';

interface Victim {
  pid: number;
  label: string;
}

async function candidates(fault: FaultSpec, ctx: ProviderContext): Promise<Victim[]> {
  if (!('target' in fault) || !fault.target) throw new Error(`${fault.kind} needs a target`);
  const target = requireLocalTarget(ctx.resolveTarget, fault.target);
  switch (target.kind) {
    case 'stage-service': {
      const replicas = await stageControl.replicas(target.controlUrl);
      return replicas.filter((r) => isAlive(r.pid)).map((r) => ({ pid: r.pid, label: `${r.name} (pid ${r.pid})` }));
    }
    case 'host': {
      const { pidFile, commandLine } = target.target;
      if (pidFile) return [{ pid: pidFromFile(pidFile), label: `pid ${pidFromFile(pidFile)} from ${pidFile}` }];
      if (commandLine) return pidsByCommandLine(commandLine).map((pid) => ({ pid, label: `pid ${pid} (${commandLine})` }));
      throw new Error(`host target '${target.name}' needs pidFile or commandLine for ${fault.kind}`);
    }
    case 'stage-database':
      throw new Error(`${fault.kind} of the database: use fault.dependencyOutage({ target: '${target.name}' }) instead`);
  }
}

export const processProvider: FaultProvider = {
  name: 'local-process',

  supports(fault: FaultSpec, env: EnvironmentConfig) {
    return (env.kind === 'local' || env.kind === 'hosts') && (fault.kind === 'pod-kill' || fault.kind === 'pod-failure');
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const pool = await candidates(fault, ctx);
    if (pool.length === 0) throw new Error(`no running process found for target '${(fault as { target: string }).target}'`);
    const victims = selectTargets(pool, (fault as { selection: Parameters<typeof selectTargets>[1] }).selection);
    const pause = fault.kind === 'pod-failure';
    return {
      faultId,
      provider: 'local-process',
      data: { action: pause ? 'pause' : 'kill', victims },
      description: `${pause ? 'SIGCONT' : 'nothing to undo after SIGKILL of'} ${victims.map((v) => v.label).join(', ')}`,
      ...(pause && 'duration' in fault && fault.duration ? { deadline: Date.now() + fault.duration } : {}),
    };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { action, victims } = record.data as { action: 'kill' | 'pause'; victims: Victim[] };
    for (const v of victims) signal(v.pid, action === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    const confirmed = await waitFor(() => victims.every((v) => (action === 'kill' ? !isAlive(v.pid) : isStopped(v.pid))), 5_000, 5);
    if (!confirmed) throw new Error(`${action} of ${victims.map((v) => v.label).join(', ')} not confirmed within 5 s`);
    return { tInject: ctx.clock.now(), targets: victims.map((v) => v.label) };
  },

  async revert(record) {
    const { action, victims } = record.data as { action: 'kill' | 'pause'; victims: Victim[] };
    if (action === 'kill') return; // the supervisor restarts the process; recovery is what the probes measure
    for (const v of victims) if (isAlive(v.pid)) signal(v.pid, 'SIGCONT');
    const ok = await waitFor(() => victims.every((v) => !isAlive(v.pid) || !isStopped(v.pid)), 5_000, 5);
    if (!ok) throw new Error(`SIGCONT of ${victims.map((v) => v.label).join(', ')} not confirmed`);
  },

  async status(record): Promise<FaultStatus> {
    const { action, victims } = record.data as { action: 'kill' | 'pause'; victims: Victim[] };
    if (action === 'kill') return { active: false, detail: 'a kill is one-shot' };
    const stopped = victims.filter((v) => isAlive(v.pid) && isStopped(v.pid));
    return { active: stopped.length > 0, detail: stopped.length ? `stopped: ${stopped.map((v) => v.label).join(', ')}` : 'all running' };
  },
};
