// Atomic file writes: temp file in the same directory, fsync, rename, fsync the
// directory. A crash leaves the old file or the new one, never half of either.
// Each path written is remembered for this process, so sealing can sign only the files this
// process wrote (plus what was already signed) and not a crashed process's leftovers.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp file of an atomic write: `.<12 hex>-<writer pid>.tmp` (older: without the pid). */
const TEMP = /^\.[0-9a-f]{12}(?:-(\d{1,10}))?\.tmp$/;
export const isTempName = (name: string): boolean => TEMP.test(basename(name));
/** The pid of the process writing a temp file, when its name says. */
export const tempWriter = (name: string): number | undefined => {
  const m = TEMP.exec(basename(name));
  return m?.[1] ? Number(m[1]) : undefined;
};
export const tempPathFor = (path: string): string => join(dirname(path), `.${randomBytes(6).toString('hex')}-${process.pid}.tmp`);

const writtenByThisProcess = new Set<string>();

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  writtenByThisProcess.add(resolve(path));
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Files this process wrote under `dir` (not yet forgotten), relative to it with '/'. */
export function writtenUnder(dir: string): string[] {
  const root = resolve(dir) + sep;
  const out: string[] = [];
  for (const p of writtenByThisProcess) if (p.startsWith(root)) out.push(p.slice(root.length).split(sep).join('/'));
  return out.sort();
}

/** After a seal: those files are now in the signed set and need no vouching by this process. */
export function forgetWrittenUnder(dir: string): void {
  const root = resolve(dir) + sep;
  for (const p of [...writtenByThisProcess]) if (p.startsWith(root)) writtenByThisProcess.delete(p);
}
