// Facts about OS processes from /proc, and signals: the evidence a process fault is in or out.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { statFields } from '../../engine/process-identity.ts';

/** A process as a fault would name it in evidence and in a dry run. */
export interface ProcessInfo {
  pid: number;
  commandLine: string;
}

/** Alive and not a zombie (a killed process whose parent has not reaped it yet is gone for us). */
export function isAlive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return processState(pid) !== 'Z';
}

/** The state letter from /proc/<pid>/stat: R, S, D, T (stopped), Z (zombie)… */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function isStopped(pid: number): boolean {
  const s = processState(pid);
  return s === 'T' || s === 't';
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** The command line with its NUL separators as spaces; '' for a kernel thread, undefined when gone. */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** The parent pid (field 4 of /proc/<pid>/stat). */
export function parentOf(pid: number): number | undefined {
  const ppid = Number(statFields(pid)?.[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

/** Every process visible in /proc with its parent, read once (processes come and go meanwhile). */
export function processTable(): Array<{ pid: number; ppid: number | undefined }> {
  const out: Array<{ pid: number; ppid: number | undefined }> = [];
  for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) out.push({ pid: Number(entry), ppid: parentOf(Number(entry)) });
  return out;
}

/** Every process whose command line contains `needle` (a hosts target named by command line), this one included. */
export function processesByCommandLine(needle: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = commandLineOf(Number(entry)); // undefined: the process ended while we looked
    if (commandLine?.includes(needle)) out.push({ pid: Number(entry), commandLine });
  }
  return out;
}

export function pidFromFile(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`pid file ${path} cannot be read: ${(err as Error).message}`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`pid file ${path} does not hold a pid`);
  return pid;
}

/** Socket inodes listening on TCP `port` (IPv4 and IPv6), from this network namespace's /proc/net tables. */
export function listeningSocketInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      const localPort = Number.parseInt(f[1]!.split(':')[1] ?? '', 16);
      if (localPort === port && f[9] !== '0') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * The socket inodes among the open files of `pid`. Throws when /proc/<pid>/fd cannot be read
 * (another user's process, without the rights to look): unknown is not the same as "none".
 */
export function socketInodesOf(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  return out;
}

/** Polls until `done()` holds or the timeout passes; returns whether it held. */
export async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
