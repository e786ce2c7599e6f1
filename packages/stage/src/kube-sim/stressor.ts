// stress-ng for a StressChaos, started so that it never outlives the simulation: it runs under
// a small shell in its own process group whose stdin is a pipe from us; when we exit (even by
// SIGKILL) the pipe closes and the shell kills it. Its own --timeout bounds it too.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { childEnv, groupAlive, killGroup, waitUntil } from '../proc.ts';

/** stress-ng on PATH (or the usual places), or undefined when it is not installed. */
export function findStressNg(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, 'stress-ng');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface StressSpec {
  cpu?: { workers: number; load?: number };
  memory?: { workers: number; size?: string };
}

/** Chaos Mesh sizes ("256MB", "1GiB", "25%") in stress-ng's spelling ("256M", "1G", "25%"). */
export function stressNgSize(size: string): string {
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(size.trim());
  if (m) return `${m[1]}${m[2]!.toUpperCase()}`;
  if (/^\d+(\.\d+)?%$/.test(size.trim())) return size.trim();
  throw new Error(`memory size '${size}' is not understood (e.g. 256MB, 1GB, 25%)`);
}

/** stress-ng's arguments for a StressChaos's stressors. Pure. */
export function stressNgArgs(spec: StressSpec, timeoutSeconds: number): string[] {
  const args: string[] = [];
  if (spec.cpu && spec.cpu.workers > 0) {
    args.push('--cpu', String(spec.cpu.workers));
    if (spec.cpu.load !== undefined) args.push('--cpu-load', String(spec.cpu.load));
  }
  if (spec.memory && spec.memory.workers > 0) {
    args.push('--vm', String(spec.memory.workers));
    if (spec.memory.size) args.push('--vm-bytes', stressNgSize(spec.memory.size));
  }
  if (!args.length) throw new Error('the StressChaos has no stressors (cpu or memory with workers > 0)');
  return [...args, '--timeout', `${Math.max(1, Math.ceil(timeoutSeconds))}s`, '--quiet'];
}

const WRAPPER = [
  'exec 3<&0', // the lifeline, kept: a background job's stdin would be /dev/null
  '"$0" "$@" </dev/null &',
  'p=$!',
  '{ read -r _ <&3; kill -TERM "$p" 2>/dev/null; } &',
  'w=$!',
  'wait "$p"; s=$?',
  'kill "$w" 2>/dev/null',
  'exit $s',
].join('\n');

export interface Stressor {
  pgid: number;
  stop(): Promise<void>;
}

/** Starts stress-ng; resolves once it runs, rejects when it could not start. */
export async function startStressor(binary: string, args: string[]): Promise<Stressor> {
  const child = spawn('/bin/sh', ['-c', WRAPPER, binary, ...args], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: childEnv() });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not start ${binary}`);
  // The pipe must not keep our event loop alive; its write end closes when we exit.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.unref();
  const early = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 300);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(`${binary} exited at once (code ${code})`);
    });
  });
  if (early) throw new Error(early);
  let stopping: Promise<void> | undefined;
  return {
    pgid,
    stop() {
      stopping ??= (async () => {
        killGroup(pgid, 'SIGTERM');
        if (!(await waitUntil(() => !groupAlive(pgid), 3_000, 25))) killGroup(pgid, 'SIGKILL');
        await waitUntil(() => !groupAlive(pgid), 3_000, 25);
        child.stdin?.destroy();
      })();
      return stopping;
    },
  };
}
