// Reading a pack that may be hostile: the tree is walked with lstat (symlinks are never
// followed), only regular files found by that walk are opened, with O_NOFOLLOW|O_NONBLOCK and
// checked again after opening, so a FIFO, a device or a link swapped in cannot hang or redirect
// a read. Paths from the pack's own documents are checked against a strict pattern first.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isTempName } from './atomic-write.ts';
import { MANIFEST, STATEMENT } from './layout.ts';

export interface PackEntry {
  dev: number;
  ino: number;
  size: number;
}

export interface PackWalk {
  /** Regular files, pack-relative with '/', except temp files of unfinished writes. */
  files: Map<string, PackEntry>;
  /** Symlinks, FIFOs, sockets, devices: never read, always reported. */
  irregular: Array<{ path: string; type: string }>;
  /** `.<hex>.tmp` files of atomic writes that never finished. */
  temps: string[];
  /** Set when the walk stopped early (too many entries or too deep). */
  truncated?: string;
}

/** A pack-relative path made only of plain segments: nothing that can climb out or hide. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
export function isSafePackPath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 1024) return false;
  return p.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
}

const MAX_ENTRIES = 1_000_000;
const MAX_DEPTH = 16;

function typeOf(s: Stats): string {
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Every entry of the pack, by lstat. The root itself must be a real directory. */
export function walkPack(packDir: string): PackWalk {
  const out: PackWalk = { files: new Map(), irregular: [], temps: [] };
  let seen = 0;
  const walk = (dir: string, rel: string, depth: number): void => {
    if (depth > MAX_DEPTH) {
      out.truncated = `${rel || '.'}: directories nested deeper than ${MAX_DEPTH}`;
      return;
    }
    for (const name of readdirSync(dir).sort()) {
      if (++seen > MAX_ENTRIES) {
        out.truncated = `more than ${MAX_ENTRIES} entries`;
        return;
      }
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, name));
      if (st.isDirectory()) walk(join(dir, name), path, depth + 1);
      else if (!st.isFile()) out.irregular.push({ path, type: typeOf(st) });
      else if (isTempName(name)) out.temps.push(path);
      else out.files.set(path, { dev: st.dev, ino: st.ino, size: st.size });
    }
  };
  walk(packDir, '', 0);
  return out;
}

/** The walk's regular files except the manifest and the statement (the sealable content). */
export const contentFiles = (w: PackWalk): string[] => [...w.files.keys()].filter((p) => p !== MANIFEST && p !== STATEMENT).sort();

/** Opens a file the walk found, refusing anything that is no longer that same regular file. */
function openWalked(packDir: string, path: string, entry: PackEntry): number {
  const fd = openSync(join(packDir, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const st = fstatSync(fd);
  if (!st.isFile() || st.ino !== entry.ino || st.dev !== entry.dev) {
    closeSync(fd);
    throw new Error(`${path} changed into ${typeOf(st)} while being read`);
  }
  return fd;
}

const CHUNK = 1 << 20;

/** sha256 of a walked file, read in chunks (no size limit, no whole-file buffer). */
export function hashPackFile(packDir: string, path: string, entry: PackEntry): { sha256: string; size: number } {
  const fd = openWalked(packDir, path, entry);
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) {
      h.update(buf.subarray(0, n));
      size += n;
    }
    return { sha256: h.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

/** Largest document parsed as JSON: a 72 h run with 1 s probes is tens of MB. */
export const MAX_JSON_BYTES = 512 * 1024 * 1024;

/** The bytes of a walked file, refused above `limit`. */
export function readPackFile(packDir: string, path: string, entry: PackEntry, limit = MAX_JSON_BYTES): Buffer {
  const fd = openWalked(packDir, path, entry);
  try {
    const size = fstatSync(fd).size;
    if (size > limit) throw new Error(`${path} is ${size} bytes, more than the ${limit} a pack document may hold`);
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
