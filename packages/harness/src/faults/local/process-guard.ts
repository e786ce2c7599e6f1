// Which processes a process fault may touch. The harness never hits itself, what it started,
// or the launchers above it (`npx`, `sh`, `node`…, whose command lines carry the drill file's
// name); a pid file is believed only when the process it names is alive and, when the target
// says so, runs the expected command line and listens on the expected port.
import type { HostTarget } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { commandLineOf, isAlive, listeningSocketInodes, pidFromFile, processesByCommandLine, processTable, socketInodesOf, parentOf } from './os-process.ts';
import type { ProcessInfo } from './os-process.ts';
import { pushAll } from '../../util/arrays.ts';

export type HarnessRelation = 'the harness itself' | 'an ancestor of the harness (its launcher)' | 'a process the harness started';

/** A process a target's pattern matched but a fault never touches, and why. */
export interface ExcludedProcess extends ProcessInfo {
  reason: string;
}

export interface HostCandidates {
  /** The processes the fault may hit (its selection picks among them). */
  processes: ProcessInfo[];
  excluded: ExcludedProcess[];
}

/** The harness's own process tree from /proc: `self`, its ancestors up to init, and its descendants. */
export function harnessTree(self: number = process.pid): Map<number, HarnessRelation> {
  const tree = new Map<number, HarnessRelation>([[self, 'the harness itself']]);
  for (let pid = parentOf(self); pid !== undefined && !tree.has(pid); pid = parentOf(pid)) tree.set(pid, 'an ancestor of the harness (its launcher)');
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of processTable()) if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const queue = [...(children.get(self) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    if (tree.has(pid)) continue;
    tree.set(pid, 'a process the harness started');
    pushAll(queue, children.get(pid) ?? []);
  }
  return tree;
}

const refuse = (name: string, why: string, fix: string) => new EnvironmentError(`target '${name}': ${why}; nothing was signalled. ${fix}`);

/** True when `pid` holds a socket listening on TCP `port`; throws when its open files cannot be read. */
function listensOn(name: string, pid: number, port: number): boolean {
  const listening = listeningSocketInodes(port);
  if (listening.size === 0) return false;
  let own: Set<string>;
  try {
    own = socketInodesOf(pid);
  } catch (err) {
    const why = `cannot tell whether pid ${pid} listens on port ${port} (${(err as Error).message})`;
    throw refuse(name, why, 'Run the harness as the user of that process, or drop listenPort.');
  }
  return [...own].some((inode) => listening.has(inode));
}

/** The one process a pid file names, checked: alive, not the harness's, and what the target says it is. */
function fromPidFile(name: string, host: HostTarget & { pidFile: string }, tree: Map<number, HarnessRelation>): ProcessInfo {
  let pid: number;
  try {
    pid = pidFromFile(host.pidFile);
  } catch (err) {
    throw refuse(name, (err as Error).message, `Fix targets.${name}.pidFile in drillbook.config.ts.`);
  }
  const where = `pid ${pid} from ${host.pidFile}`;
  if (!isAlive(pid)) throw refuse(name, `${where} is not running (a stale pid file)`, 'Start the process, or point pidFile at its current pid file.');
  const relation = tree.get(pid);
  if (relation) throw refuse(name, `${where} is ${relation}, and a fault never hits the harness's own process tree`, 'The pid file is stale or wrong: fix it.');
  const commandLine = commandLineOf(pid) ?? '';
  const stale = '(the pid file is stale or names another process)';
  if (host.commandLine !== undefined && !commandLine.includes(host.commandLine))
    throw refuse(name, `${where} runs '${commandLine}', not containing '${host.commandLine}' ${stale}`, `Fix the pid file or targets.${name}.commandLine.`);
  if (host.listenPort !== undefined && !listensOn(name, pid, host.listenPort))
    throw refuse(name, `${where} ('${commandLine}') does not listen on port ${host.listenPort} ${stale}`, `Fix the pid file or targets.${name}.listenPort.`);
  return { pid, commandLine };
}

/** Every process a host target names, minus the harness's own tree (and, with listenPort, those not listening on it). */
function fromCommandLine(name: string, host: HostTarget & { commandLine: string }, tree: Map<number, HarnessRelation>): HostCandidates {
  const processes: ProcessInfo[] = [];
  const excluded: ExcludedProcess[] = [];
  for (const p of processesByCommandLine(host.commandLine)) {
    const relation = tree.get(p.pid);
    if (relation) excluded.push({ ...p, reason: relation });
    else if (host.listenPort !== undefined && !listensOn(name, p.pid, host.listenPort))
      excluded.push({ ...p, reason: `does not listen on port ${host.listenPort}` });
    else processes.push(p);
  }
  if (processes.length === 0 && excluded.some((e) => tree.has(e.pid))) {
    const matched = excluded.map((e) => `pid ${e.pid} '${e.commandLine}' (${e.reason})`).join('; ');
    throw refuse(
      name,
      `commandLine '${host.commandLine}' matches only processes a fault never hits: ${matched}`,
      `Start the target process, or make targets.${name}.commandLine more specific (e.g. the service's binary path) ` +
        'so it cannot match the harness or its launcher.',
    );
  }
  return { processes, excluded };
}

/**
 * The processes a host target names, read from /proc now. Throws an EnvironmentError naming the
 * target and the reason when the target cannot be trusted (stale or contradicted pid file, or a
 * pattern that matches only the harness). An empty `processes` means nothing matched at all.
 */
export function hostCandidates(name: string, host: HostTarget, tree: Map<number, HarnessRelation> = harnessTree()): HostCandidates {
  if (host.pidFile !== undefined) return { processes: [fromPidFile(name, { ...host, pidFile: host.pidFile }, tree)], excluded: [] };
  if (host.commandLine !== undefined) return fromCommandLine(name, { ...host, commandLine: host.commandLine }, tree);
  throw new EnvironmentError(`target '${name}' names no process: give targets.${name}.pidFile or targets.${name}.commandLine in drillbook.config.ts`);
}
