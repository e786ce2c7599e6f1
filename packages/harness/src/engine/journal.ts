// The rollback journal: before a fault goes in, its revert is appended and fsynced; when
// it is out, a `done` line follows. On normal end, abort, signal, or the next start after
// a crash, every revert still pending (and whose owning process is gone) is carried out.
import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { FileLock } from './file-lock.ts';
import { isSameProcessRunning, processStartTime } from './process-identity.ts';
import type { FaultProvider, RevertRecord } from './types.ts';

/** Where a project keeps its journal unless told otherwise. */
export const defaultJournalPath = (projectRoot: string): string => join(projectRoot, '.drillbook', 'journal.jsonl');

/** Providers by name: a map, or a lookup function. */
export type ProviderRegistry = ReadonlyMap<string, FaultProvider> | ((name: string) => FaultProvider | undefined);

type JournalLine =
  // startTime: /proc/<pid>/stat field 22 of the writer; absent in lines of older versions.
  | { op: 'pending'; at: number; pid: number; startTime?: number; record: RevertRecord }
  | { op: 'done'; at: number; faultId: string }
  | { op: 'failed'; at: number; faultId: string; error: string };

export interface PendingRevert {
  record: RevertRecord;
  /** The process that injected it; a live owner's faults are not ours to revert. */
  pid: number;
  /** The owner's start time, so a reused pid is not taken for the owner (absent in older journals). */
  startTime?: number;
  at: number;
}

export interface RecoveryReport {
  reverted: RevertRecord[];
  failed: Array<{ record: RevertRecord; error: string }>;
  skippedLiveOwner: RevertRecord[];
  /** Another live process is recovering this journal right now: nothing was attempted here. */
  recoveringElsewhere?: number;
}

/**
 * Several harness processes may share one journal (two drills, or `drill recover` beside a
 * run): appends and compaction happen under a short lock, and recovery under a second
 * one, so two processes never revert the same fault at once or lose each other's lines.
 */
export class RollbackJournal {
  private readonly writeLock: FileLock;
  private readonly recoverLock: FileLock;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.writeLock = new FileLock(`${path}.lock`);
    this.recoverLock = new FileLock(`${path}.recover.lock`);
  }

  static forProject(projectRoot: string): RollbackJournal {
    return new RollbackJournal(defaultJournalPath(projectRoot));
  }

  private append(line: JournalLine, compact = false): void {
    this.writeLock.withLock(() => {
      // Owner-only: revert records name targets and may hold a database URL with its password.
      const fd = openSync(this.path, 'a+', 0o600);
      fchmodSync(fd, 0o600); // a journal made by an older version may still be world-readable
      try {
        // A crash mid-append leaves a torn last line; start on a fresh one so this line is not glued to it.
        const size = fstatSync(fd).size;
        const last = Buffer.alloc(1);
        const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
        writeSync(fd, `${torn ? '\n' : ''}${JSON.stringify(line)}\n`);
        fsyncSync(fd);
        // Under the same lock, so no other process can append between the check and the truncate.
        if (compact && openIn(this.lines()).size === 0) {
          ftruncateSync(fd, 0);
          fsyncSync(fd);
        }
      } finally {
        closeSync(fd);
      }
    });
  }

  /**
   * A running timeline of this process has this fault in (from before its inject until its last
   * revert attempt). The scheduler runs drills side by side in one process, so "owned by this
   * process" does not mean "left over": another run's recovery must leave a live fault alone.
   */
  holdLive(faultId: string): void {
    liveInThisProcess.add(faultId);
  }

  /** The timeline is done with the fault: reverted, or given up to the journal for recovery. */
  releaseLive(faultId: string): void {
    liveInThisProcess.delete(faultId);
  }

  /** Call BEFORE injecting: once this returns, the revert survives a crash. */
  recordPending(record: RevertRecord): void {
    const startTime = ownStartTime();
    this.append({ op: 'pending', at: Date.now(), pid: process.pid, ...(startTime === undefined ? {} : { startTime }), record });
  }

  /** Call once the fault is confirmed out. Empties the file when nothing is left pending. */
  recordDone(faultId: string): void {
    this.append({ op: 'done', at: Date.now(), faultId }, true);
  }

  /** A revert that failed stays pending; the failure is noted for `drill recover`. */
  recordFailed(faultId: string, error: string): void {
    this.append({ op: 'failed', at: Date.now(), faultId, error });
  }

  private lines(): JournalLine[] {
    if (!existsSync(this.path)) return [];
    const out: JournalLine[] = [];
    for (const raw of readFileSync(this.path, 'utf8').split('\n')) {
      if (!raw.trim()) continue;
      try {
        out.push(JSON.parse(raw) as JournalLine);
      } catch {
        // a torn last line from a crash mid-append: the pending line before it is complete
      }
    }
    return out;
  }

  /** Reverts recorded and not yet done (a failed revert stays pending), oldest first. */
  pending(): PendingRevert[] {
    return [...openIn(this.lines()).values()];
  }

  /**
   * Carries out every pending revert whose owner is gone (or all of them with
   * `includeLive`, for the process's own faults at the end of a run). Never throws:
   * what could not be reverted is reported and stays pending.
   */
  async recoverPending(
    providers: ProviderRegistry,
    log: (level: 'info' | 'warn' | 'error', message: string) => void,
    options: { includeLive?: boolean; onlyOwnedBy?: number; signal?: AbortSignal } = {},
  ): Promise<RecoveryReport> {
    const report: RecoveryReport = { reverted: [], failed: [], skippedLiveOwner: [] };
    const holder = this.recoverLock.tryAcquire();
    if (holder !== undefined) {
      log('warn', `process ${holder} is already recovering ${this.path}; leaving its pending reverts to it`);
      return { ...report, recoveringElsewhere: holder };
    }
    try {
      await this.recoverUnderLock(typeof providers === 'function' ? providers : (n) => providers.get(n), log, options, report);
    } finally {
      this.recoverLock.release();
    }
    return report;
  }

  private async recoverUnderLock(
    providers: (name: string) => FaultProvider | undefined,
    log: (level: 'info' | 'warn' | 'error', message: string) => void,
    options: { includeLive?: boolean; onlyOwnedBy?: number; signal?: AbortSignal },
    report: RecoveryReport,
  ): Promise<void> {
    const signal = options.signal ?? new AbortController().signal;
    for (const p of this.pending()) {
      if (options.onlyOwnedBy !== undefined && p.pid !== options.onlyOwnedBy) continue;
      if (!options.includeLive && (liveInThisProcess.has(p.record.faultId) || (!isOwn(p) && isSameProcessRunning(p.pid, p.startTime)))) {
        report.skippedLiveOwner.push(p.record);
        continue;
      }
      if (!options.includeLive && p.startTime !== undefined && !isOwn(p) && isSameProcessRunning(p.pid, undefined))
        log('info', `${p.record.faultId}: its owner (pid ${p.pid}) is gone; that pid now belongs to another process`);
      const provider = providers(p.record.provider);
      if (!provider) {
        const error = `no provider named '${p.record.provider}' in this harness; revert by hand: ${p.record.description}`;
        log('error', error);
        report.failed.push({ record: p.record, error });
        continue;
      }
      try {
        await provider.revert(p.record, { log, signal });
        this.recordDone(p.record.faultId);
        report.reverted.push(p.record);
        log('info', `reverted ${p.record.faultId}: ${p.record.description}`);
      } catch (err) {
        const error = (err as Error).message;
        this.recordFailed(p.record.faultId, error);
        report.failed.push({ record: p.record, error });
        log('error', `could not revert ${p.record.faultId} (${p.record.description}): ${error}`);
      }
    }
  }

  /** Marks a fault reverted by hand (`drill recover --forget <id>`). */
  forget(faultId: string): boolean {
    if (!this.pending().some((p) => p.record.faultId === faultId)) return false;
    this.recordDone(faultId);
    return true;
  }

  /** Removes the file (tests). */
  destroy(): void {
    rmSync(this.path, { force: true });
  }
}

let cachedStartTime: number | undefined | null = null;
/** This process's start time: read once, it never changes. */
function ownStartTime(): number | undefined {
  if (cachedStartTime === null) cachedStartTime = processStartTime(process.pid);
  return cachedStartTime;
}

/** Written by this very process (not by an earlier one that had the same pid). */
const liveInThisProcess = new Set<string>();

function isOwn(p: PendingRevert): boolean {
  return p.pid === process.pid && (p.startTime === undefined || p.startTime === ownStartTime());
}

function openIn(lines: JournalLine[]): Map<string, PendingRevert> {
  const open = new Map<string, PendingRevert>();
  for (const l of lines) {
    const owner = l.op === 'pending' && l.startTime !== undefined ? { startTime: l.startTime } : {};
    if (l.op === 'pending') open.set(l.record.faultId, { record: l.record, pid: l.pid, ...owner, at: l.at });
    else if (l.op === 'done') open.delete(l.faultId);
  }
  return open;
}
