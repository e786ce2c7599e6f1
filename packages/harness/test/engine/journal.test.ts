// The rollback journal on its own: pending minus done, failures kept, recovery reports,
// compaction, and two real processes writing it at once.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileLock } from '../../src/engine/file-lock.ts';
import { defaultJournalPath, RollbackJournal } from '../../src/engine/journal.ts';
import type { FaultProvider, RevertRecord } from '../../src/engine/types.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drillbook-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (faultId: string, provider = 'memory'): RevertRecord => ({ faultId, provider, data: { n: faultId }, description: `undo ${faultId}` });

/** A provider whose reverts are counted and can be made to fail. */
function memory(failing = new Set<string>()) {
  const reverted: string[] = [];
  const provider: FaultProvider = {
    name: 'memory',
    supports: () => true,
    prepare: async (_f, id) => record(id),
    inject: async () => ({ tInject: 0, targets: [] }),
    async revert(r) {
      if (failing.has(r.faultId)) throw new Error(`cannot reach ${r.faultId}`);
      reverted.push(r.faultId);
    },
    status: async () => ({ active: false, detail: '' }),
  };
  return { provider, reverted };
}

/** A pid that certainly belongs to no running process: one that has just exited. */
const deadPid = () => spawnSync('true').pid!;

describe('rollback journal', () => {
  it('lives under .drillbook/ in the project by default', () => {
    expect(defaultJournalPath('/srv/shop')).toBe('/srv/shop/.drillbook/journal.jsonl');
    expect(RollbackJournal.forProject(dir).path).toBe(join(dir, '.drillbook', 'journal.jsonl'));
  });

  it('leaves alone a fault another run of this process holds live (the scheduler runs drills side by side), and recovers it once released', async () => {
    const running = new RollbackJournal(join(dir, 'j.jsonl'));
    running.recordPending(record('live'));
    running.holdLive('live');
    const { provider, reverted } = memory();
    // A second run starting in the same process recovers leftovers first: the live fault is not one.
    const other = new RollbackJournal(join(dir, 'j.jsonl'));
    const first = await other.recoverPending(
      () => provider,
      () => {},
    );
    expect(first.skippedLiveOwner.map((r) => r.faultId)).toEqual(['live']);
    expect(reverted).toEqual([]);
    // The running timeline gave it up (its own revert failed): now it is a leftover to recover.
    running.recordFailed('live', 'unreachable');
    running.releaseLive('live');
    const second = await other.recoverPending(
      () => provider,
      () => {},
    );
    expect(second.reverted.map((r) => r.faultId)).toEqual(['live']);
    expect(reverted).toEqual(['live']);
  });

  it('pending is pending minus done; the file empties once nothing is pending', () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    j.recordPending(record('a'));
    j.recordPending(record('b'));
    expect(j.pending().map((p) => p.record.faultId)).toEqual(['a', 'b']);
    expect(j.pending()[0]!.pid).toBe(process.pid);
    j.recordDone('a');
    expect(j.pending().map((p) => p.record)).toEqual([record('b')]);
    expect(statSync(j.path).size).toBeGreaterThan(0);
    j.recordDone('b');
    expect(j.pending()).toEqual([]);
    expect(readFileSync(j.path, 'utf8')).toBe('');
    expect(existsSync(`${j.path}.lock`)).toBe(false);
  });

  it('recovers with a map of providers; a failed revert stays pending, an unknown provider is named', async () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    for (const r of [record('ok'), record('broken'), record('alien', 'chaos-mesh')]) j.recordPending(r);
    const { provider, reverted } = memory(new Set(['broken']));
    const messages: string[] = [];
    const report = await j.recoverPending(new Map([['memory', provider]]), (level, m) => messages.push(`${level}: ${m}`));
    expect(reverted).toEqual(['ok']);
    expect(report.reverted.map((r) => r.faultId)).toEqual(['ok']);
    expect(report.failed.map((f) => [f.record.faultId, f.error])).toEqual([
      ['broken', 'cannot reach broken'],
      ['alien', "no provider named 'chaos-mesh' in this harness; revert by hand: undo alien"],
    ]);
    expect(messages.some((m) => m.startsWith('error: could not revert broken'))).toBe(true);
    expect(j.pending().map((p) => p.record.faultId)).toEqual(['broken', 'alien']);
    // Idempotent: a second recovery does not revert what is done again.
    const again = await j.recoverPending(
      (n) => (n === 'memory' ? provider : undefined),
      () => {},
    );
    expect(again.reverted).toEqual([]);
    expect(reverted).toEqual(['ok']);
  });

  it('leaves the faults of a dead owner to recovery and tolerates a torn last line', async () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    const dead = deadPid();
    writeFileSync(j.path, `${JSON.stringify({ op: 'pending', at: 1, pid: dead, record: record('orphan') })}\n{"op":"pending","at":2,"pid":`);
    expect(j.pending().map((p) => [p.record.faultId, p.pid])).toEqual([['orphan', dead]]);
    const { provider, reverted } = memory();
    const report = await j.recoverPending(new Map([['memory', provider]]), () => {});
    expect(reverted).toEqual(['orphan']);
    expect(report.skippedLiveOwner).toEqual([]);
    expect(j.pending()).toEqual([]);
  });

  it('does not recover while another live process is recovering', async () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    j.recordPending(record('x'));
    const other = new FileLock(`${j.path}.recover.lock`);
    expect(other.tryAcquire()).toBeUndefined();
    try {
      const { provider, reverted } = memory();
      const report = await j.recoverPending(new Map([['memory', provider]]), () => {});
      expect(report.recoveringElsewhere).toBe(process.pid);
      expect(reverted).toEqual([]);
    } finally {
      other.release();
    }
    expect(existsSync(`${j.path}.recover.lock`)).toBe(false);
  });

  it('breaks a lock left by a process that died holding it', () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    writeFileSync(`${j.path}.lock`, String(deadPid()));
    j.recordPending(record('after-crash'));
    expect(j.pending()).toHaveLength(1);
    expect(existsSync(`${j.path}.lock`)).toBe(false);
  });

  it("two processes writing at once never compact away each other's pending revert", async () => {
    const path = join(dir, 'shared.jsonl');
    const writer = join(__dirname, 'fixtures', 'journal-writer.ts');
    const go = join(dir, 'go');
    const ready: Promise<void>[] = [];
    const run = (tag: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', writer, path, tag, '400', go], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        ready.push(new Promise((r) => child.on('spawn', () => r())));
        child.on('exit', (code) => resolve({ code, out }));
      });
    const done = Promise.all([run('a'), run('b')]);
    await Promise.all(ready);
    writeFileSync(go, '');
    const results = await done;
    // Every revert was still journaled right after it was recorded, whatever the other process compacted.
    expect(results).toEqual([
      { code: 0, out: '{"lost":0}' },
      { code: 0, out: '{"lost":0}' },
    ]);
    expect(new RollbackJournal(path).pending()).toEqual([]);
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('waits for a lock another process holds rather than writing alongside it', async () => {
    const j = new RollbackJournal(join(dir, 'j.jsonl'));
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'lock-holder.ts'), j.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('HELD') && resolve());
        child.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
      });
      j.recordPending(record('mine')); // blocks until the other process lets go
      const ops = readFileSync(j.path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { op: string });
      expect(ops.map((o) => o.op)).toEqual(['done', 'pending']);
    } finally {
      await exited;
    }
  });
});
