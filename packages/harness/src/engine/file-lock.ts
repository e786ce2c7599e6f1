// A lock file shared between harness processes: created exclusively, holding the owner's
// pid, so a lock left by a process that died (SIGKILL) is recognised and broken.
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';

/** True when `pid` is a running process (a zombie awaiting its parent counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class FileLock {
  private held = false;

  constructor(
    readonly path: string,
    /** How long `acquire` waits for a live holder before giving up. */
    private readonly waitMs = 10_000,
  ) {}

  /** Takes the lock if it is free (or stale); otherwise returns the live holder's pid. */
  tryAcquire(): number | undefined {
    if (this.held) throw new Error(`${this.path}: already held by this process`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(this.path, 'wx');
        try {
          writeSync(fd, String(process.pid));
        } finally {
          closeSync(fd);
        }
        this.held = true;
        return undefined;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = this.holder();
      if (holder === 'gone') continue;
      if (holder !== undefined && isAlive(holder)) return holder;
      if (holder === undefined && !this.olderThan(1_000)) return -1; // being written right now
      this.breakStale(holder);
    }
    const holder = this.holder();
    return typeof holder === 'number' ? holder : -1;
  }

  /** Waits (synchronously: holders keep it for one append) until the lock is ours. */
  acquire(): void {
    const deadline = Date.now() + this.waitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const holder = this.tryAcquire();
      if (holder === undefined) return;
      if (Date.now() > deadline)
        throw new Error(`${this.path} is held by process ${holder} for more than ${this.waitMs} ms; if no drill is running, remove the file`);
      sleepSync(pause);
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    // Only our own: never remove a lock another process holds.
    if (this.holder() === process.pid) rmSync(this.path, { force: true });
  }

  withLock<T>(fn: () => T): T {
    this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  private holder(): number | undefined | 'gone' {
    try {
      const pid = Number.parseInt(readFileSync(this.path, 'utf8'), 10);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return 'gone';
    }
  }

  private olderThan(ms: number): boolean {
    try {
      return Date.now() - statSync(this.path).mtimeMs > ms;
    } catch {
      return true;
    }
  }

  /**
   * Moves the dead holder's lock aside (a rename: only one breaker wins). If what was
   * moved turns out to be a live process's fresh lock, it is put back with link(), which
   * fails rather than overwrite a lock someone took meanwhile.
   */
  private breakStale(deadPid: number | undefined): void {
    const aside = `${this.path}.stale.${process.pid}`;
    try {
      renameSync(this.path, aside);
    } catch {
      return; // someone else broke it first
    }
    try {
      const moved = Number.parseInt(readFileSync(aside, 'utf8'), 10);
      if (moved !== deadPid && Number.isInteger(moved) && isAlive(moved)) {
        try {
          linkSync(aside, this.path);
        } catch {
          // a third process took the lock meanwhile: it and the moved holder overlap for one
          // append (vanishingly rare: needs a stale lock and three racing processes)
        }
      }
    } finally {
      rmSync(aside, { force: true });
    }
  }
}
