// pod-kill and pod-failure on a containers environment's services. Kill = SIGKILL of the
// container's main process (as an OOM kill or a crash would end it), so Docker's restart
// policy decides whether it comes back — a kill through the engine's API counts as a manual
// stop, which Docker never restarts. Failure = the engine's pause/unpause (cgroup freezer).
// Dependency outage = the engine's stop for the duration (a manual stop: no restart), then start.
import type { EnvironmentConfig, FaultSpec } from '../../define/types.ts';
import { processStartTime, isSameProcessRunning } from '../../engine/process-identity.ts';
import type { FaultProvider, FaultStatus, InjectedFault, RevertRecord } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { signal, waitFor } from '../local/os-process.ts';
import { selectTargets } from '../local/select.ts';
import { connectEngine, type Dockerode } from './docker.ts';
import { requireContainerTarget } from './targets.ts';

interface Victim {
  id: string;
  name: string;
  /** The main process on the host when chosen (kill only), with its start time against pid reuse. */
  pid?: number;
  startTime?: number;
}

type Action = 'kill' | 'pause' | 'stop';
type Data = { action: Action; victims: Victim[] };
const ACTIONS: Partial<Record<FaultSpec['kind'], Action>> = { 'pod-kill': 'kill', 'pod-failure': 'pause', 'dependency-outage': 'stop' };
const UNDO: Record<Action, string> = { kill: 'nothing to undo after killing', pause: 'unpause', stop: 'start again' };

let engine: Promise<Dockerode> | undefined;
const docker = () => (engine ??= connectEngine().then((e) => e.docker));

/** A container's state, or undefined when it is gone. */
export async function inspect(id: string): Promise<{ running: boolean; paused: boolean; pid: number } | undefined> {
  try {
    const s = (await (await docker()).getContainer(id).inspect()).State;
    return { running: s.Running, paused: s.Paused, pid: s.Pid };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

export const containerProcessProvider: FaultProvider = {
  name: 'container-process',

  supports(fault: FaultSpec, env: EnvironmentConfig) {
    return env.kind === 'containers' && ACTIONS[fault.kind] !== undefined;
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const action = ACTIONS[fault.kind];
    if (!action || !fault.target) throw new Error(`${fault.kind} is not a container fault on a target`);
    const target = requireContainerTarget(ctx.resolveTarget, fault.target);
    const running: Victim[] = [];
    for (const r of target.replicas) {
      const s = await inspect(r.id);
      if (s?.running && !s.paused) running.push({ id: r.id, name: r.name });
    }
    if (running.length === 0) throw new EnvironmentError(`no running container for service '${target.name}'`);
    // An outage takes the whole dependency away, whatever the selection says.
    const victims = action === 'stop' ? running : selectTargets(running, fault.selection ?? { mode: 'one' });
    const duration = 'duration' in fault ? (fault.duration as number) : undefined;
    return {
      faultId,
      provider: 'container-process',
      data: { action, victims } satisfies Data,
      description: `${UNDO[action]} container ${victims.map((v) => v.name).join(', ')}`,
      ...(action !== 'kill' && duration !== undefined ? { deadline: Date.now() + duration } : {}),
    };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { action, victims } = record.data as Data;
    if (action === 'pause' || action === 'stop') {
      for (const v of victims) {
        const c = (await docker()).getContainer(v.id);
        await (action === 'pause' ? c.pause() : c.stop({ t: 2 }));
      }
      const ok = await waitForAll(victims, (s) => (action === 'pause' ? s?.paused === true : s !== undefined && !s.running));
      if (!ok) throw new Error(`${action} of ${victims.map((v) => v.name).join(', ')} not confirmed within 5 s`);
      return { tInject: ctx.clock.now(), targets: victims.map((v) => v.name) };
    }
    for (const v of victims) {
      const s = await inspect(v.id);
      if (!s?.running || s.pid <= 0) throw new EnvironmentError(`container ${v.name} stopped between choosing and injecting; nothing was killed`);
      const startTime = processStartTime(s.pid);
      // The engine reports pids in the host's namespace: a remote engine's are not ours to signal.
      if (startTime === undefined)
        throw new EnvironmentError(`container ${v.name}'s main process (pid ${s.pid}) is not on this machine: pod-kill needs the Docker engine local`);
      v.pid = s.pid;
      v.startTime = startTime;
    }
    for (const v of victims) signal(v.pid!, 'SIGKILL');
    const gone = await waitFor(() => victims.every((v) => !isSameProcessRunning(v.pid!, v.startTime)), 5_000, 2);
    if (!gone) throw new Error(`kill of ${victims.map((v) => v.name).join(', ')} not confirmed within 5 s`);
    return { tInject: ctx.clock.now(), targets: victims.map((v) => `${v.name} (pid ${v.pid})`) };
  },

  async revert(record) {
    const { action, victims } = record.data as Data;
    if (action === 'kill') return; // the restart policy brings it back; recovery is what the probes measure
    // A container that is gone (the environment closed) has nothing left to undo.
    for (const v of victims) {
      const s = await inspect(v.id);
      if (action === 'pause' && s?.paused) await (await docker()).getContainer(v.id).unpause();
      if (action === 'stop' && s && !s.running) await (await docker()).getContainer(v.id).start();
    }
    const ok = await waitForAll(victims, (s) => s === undefined || (action === 'pause' ? !s.paused : s.running));
    if (!ok) throw new Error(`${UNDO[action]} of ${victims.map((v) => v.name).join(', ')} not confirmed`);
  },

  async status(record): Promise<FaultStatus> {
    const { action, victims } = record.data as Data;
    if (action === 'kill') return { active: false, detail: 'a kill is one-shot' };
    const hit: string[] = [];
    for (const v of victims) {
      const s = await inspect(v.id);
      if (s && (action === 'pause' ? s.paused : !s.running)) hit.push(v.name);
    }
    return { active: hit.length > 0, detail: hit.length ? `${action === 'pause' ? 'paused' : 'stopped'}: ${hit.join(', ')}` : 'all running' };
  },
};

/** Every victim's state passes `ok` within 5 s. */
const waitForAll = (victims: Victim[], ok: (s: Awaited<ReturnType<typeof inspect>>) => boolean) =>
  waitFor(async () => (await Promise.all(victims.map((v) => inspect(v.id)))).every(ok), 5_000, 20);
