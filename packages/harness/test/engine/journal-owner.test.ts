// The journal's owner check is pid + start time: a pending revert whose owner died and whose
// pid now belongs to another live process is reverted, not "left to a running harness".
// Real processes: `sleep`s stand in for the owner and for the newcomer on its pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { isSameProcessRunning, processStartTime } from '../../src/engine/process-identity.ts';
import type { FaultProvider, RevertRecord } from '../../src/engine/types.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drillbook-owner-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sleepers: ChildProcess[] = [];
afterAll(() => {
  for (const s of sleepers) s.kill('SIGKILL');
});

/** A live process that is not this one. */
function liveOther(): number {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  sleepers.push(child);
  return child.pid!;
}

/** Field 22 of /proc/<pid>/stat, read here independently of the code under test. */
function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

const record = (faultId: string): RevertRecord => ({ faultId, provider: 'memory', data: {}, description: `undo ${faultId}` });

function memory() {
  const reverted: string[] = [];
  const provider: FaultProvider = {
    name: 'memory',
    supports: () => true,
    prepare: async (_f, id) => record(id),
    inject: async () => ({ tInject: 0, targets: [] }),
    async revert(r) {
      reverted.push(r.faultId);
    },
    status: async () => ({ active: false, detail: '' }),
  };
  return { provider, reverted };
}

/** A journal holding one pending line as a harness (of this or an older version) wrote it. */
function journalWith(faultId: string, owner: { pid: number; startTime?: number }): RollbackJournal {
  const path = join(dir, 'journal.jsonl');
  writeFileSync(path, `${JSON.stringify({ op: 'pending', at: Date.now(), ...owner, record: record(faultId) })}\n`);
  return new RollbackJournal(path);
}

describe('journal owner check: pid + start time', () => {
  it('records the writer’s start time (field 22 of /proc/<pid>/stat) beside its pid', () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    j.recordPending(record('mine'));
    const [p] = j.pending();
    expect(p!.pid).toBe(process.pid);
    expect(p!.startTime).toBe(startTicks(process.pid));
    expect(processStartTime(process.pid)).toBe(startTicks(process.pid));
  });

  it('a live pid with another start time is a reused pid: the fault is orphaned and reverted', async () => {
    const pid = liveOther();
    const j = journalWith('reused', { pid, startTime: startTicks(pid) - 1 });
    expect(isSameProcessRunning(pid, startTicks(pid) - 1)).toBe(false);
    const { provider, reverted } = memory();
    const messages: string[] = [];
    const report = await j.recoverPending(new Map([['memory', provider]]), (_l, m) => messages.push(m));
    expect(reverted).toEqual(['reused']);
    expect(report.skippedLiveOwner).toEqual([]);
    expect(j.pending()).toEqual([]);
    expect(messages.join('\n')).toMatch(new RegExp(`owner \\(pid ${pid}\\) is gone; that pid now belongs to another process`));
  });

  it('the same pid and start time is a running owner: its fault is left to it', async () => {
    const pid = liveOther();
    const j = journalWith('live', { pid, startTime: startTicks(pid) });
    const { provider, reverted } = memory();
    const report = await j.recoverPending(new Map([['memory', provider]]), () => {});
    expect(reverted).toEqual([]);
    expect(report.skippedLiveOwner.map((r) => r.faultId)).toEqual(['live']);
    expect(j.pending()).toHaveLength(1);
  });

  it('a record of an older version (no start time) keeps the pid-only check', async () => {
    const { provider, reverted } = memory();
    const live = journalWith('old-live', { pid: liveOther() });
    expect((await live.recoverPending(new Map([['memory', provider]]), () => {})).skippedLiveOwner.map((r) => r.faultId)).toEqual(['old-live']);
    const dead = journalWith('old-dead', { pid: spawnSync('true').pid! });
    const report = await dead.recoverPending(new Map([['memory', provider]]), () => {});
    expect(report.reverted.map((r) => r.faultId)).toEqual(['old-dead']);
    expect(reverted).toEqual(['old-dead']);
  });

  it('an earlier process that had this very pid is not this process: its fault is reverted as orphaned', async () => {
    const j = journalWith('earlier', { pid: process.pid, startTime: startTicks(process.pid) - 1 });
    const { provider, reverted } = memory();
    const report = await j.recoverPending(new Map([['memory', provider]]), () => {});
    expect(reverted).toEqual(['earlier']);
    expect(report.skippedLiveOwner).toEqual([]);
  });
});
