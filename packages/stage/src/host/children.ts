// Starting and stopping the stage's child programs: each in its own process group, output
// to a log file, optionally as another user (PostgreSQL refuses to run as root).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { childEnv, startTimeOf, killGroup, groupAlive, waitUntil } from '../proc.ts';
import type { ProcessRecord } from '../state.ts';

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  record: ProcessRecord;
}

export interface SpawnOptions {
  /** The child's whole environment; default childEnv() (allow-listed, no secret of ours). */
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
  /** Run as this user through setpriv (used for postgres when we are root). */
  asUser?: string;
}

export function spawnChild(name: string, command: string, args: string[], opts: SpawnOptions): Child {
  const fd = openSync(opts.logFile, 'a');
  let cmd = command;
  let argv = args;
  if (opts.asUser) {
    // setpriv execs the program in place, so the pid we record is the program's own.
    cmd = 'setpriv';
    argv = [`--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--init-groups', '--', command, ...args];
  }
  const proc = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? childEnv(), stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: -1, signal: null }));
  });
  const pid = proc.pid;
  return { name, proc, pid, exited, record: { name, pid, pgid: pid, startTime: startTimeOf(pid) } };
}

/** Sends `signal` to the child's group, waits, then SIGKILLs whatever is left of the group. */
export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) {
    killGroup(child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([child.exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
  if (groupAlive(child.pid)) {
    killGroup(child.pid, 'SIGKILL');
    await waitUntil(() => !groupAlive(child.pid), 5_000);
  }
}
