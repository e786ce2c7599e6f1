// A pid alone does not name a process for long: the kernel reuses pids. The pid together with
// the start time from /proc/<pid>/stat names one process for good, so an owner check made
// with both cannot mistake a newcomer on a reused pid for the process that wrote a record.
import { readFileSync } from 'node:fs';
import { isAlive } from './file-lock.ts';

/** The fields of /proc/<pid>/stat after the command name, which may itself hold spaces and ')'. */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .trim()
      .split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (clock ticks after boot); undefined when the process or /proc is not there. */
export function processStartTime(pid: number): number | undefined {
  // statFields starts at field 3 (state), so field 22 is index 19.
  const raw = statFields(pid)?.[19];
  const ticks = raw === undefined ? Number.NaN : Number(raw);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/**
 * True when the process that had `pid` and `startTime` is still running. Without a start time
 * (a record from an older version) only the pid can be checked; a start time that cannot be
 * read for a live pid (no /proc) is not proof of reuse, so the owner counts as running.
 */
export function isSameProcessRunning(pid: number, startTime: number | undefined): boolean {
  if (!isAlive(pid)) return false;
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}
