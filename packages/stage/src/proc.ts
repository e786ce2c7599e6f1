// Process-group helpers: every child of the stage runs in its own group so one signal to
// the group takes the program and anything it forked; start times guard against pid reuse.
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel start time of a pid (clock ticks since boot), or undefined when the pid is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces, so count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0, but has exited.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Signals a whole process group; false when it no longer exists. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Live (non-zombie) pids whose process group is `pgid`, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state, fields[2] = pgrp
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Variables a child may inherit from us. Everything else — DRILLBOOK_SIGNING_KEY, cloud
 * credentials, tokens of the caller — stays out: a child (or anyone who can read its
 * /proc/<pid>/environ, e.g. the postgres user through COPY … TO PROGRAM) must not get it.
 */
export const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'] as const;

/** An allow-listed environment for a child: INHERITED_ENV from ours plus the explicit extras. */
export function childEnv(extra: Record<string, string | undefined> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const v = from[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}
