// The rollback journal's promise, tested with real processes: a harness SIGKILLed while
// its fault is in leaves the fault in; the next start reverts it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RollbackJournal } from '../../src/engine/journal.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-crash-'));
const journalPath = join(dir, 'journal.jsonl');
const fixtures = join(__dirname, 'fixtures');
let holderPid = 0;

/** Alive and not a zombie: an orphan killed here is reaped by init, which may take its time. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

afterAll(() => {
  if (holderPid && alive(holderPid)) process.kill(-holderPid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('crash recovery', () => {
  it('a SIGKILLed harness leaves its fault in; the next start reverts it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'harness-child.ts'), journalPath], { env: { ...process.env, HOLDER_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    const injected = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /INJECTED holder pid (\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`harness exited early with ${code}`)));
    });
    holderPid = Number(injected);
    expect(alive(holderPid)).toBe(true);
    expect(new RollbackJournal(journalPath).pending()).toHaveLength(1);

    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // The crash reverted nothing: the fault outlived the harness.
    expect(alive(holderPid)).toBe(true);
    expect(readFileSync(journalPath, 'utf8')).toContain('"op":"pending"');

    const out = execFileSync(process.execPath, ['--import', 'tsx', join(fixtures, 'recover-child.ts'), journalPath], { env: { ...process.env, HOLDER_DIR: dir } }).toString();
    expect(JSON.parse(out)).toEqual({ reverted: 1, failed: 0, skipped: 0 });
    // SIGKILL to a process group is immediate, but reaping may lag a moment.
    for (let i = 0; i < 50 && alive(holderPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(holderPid)).toBe(false);
    expect(new RollbackJournal(journalPath).pending()).toEqual([]);
  });

  it("does not revert the faults of a harness that is still running", async () => {
    const journal = new RollbackJournal(join(dir, 'live.jsonl'));
    journal.recordPending({ faultId: 'f-live', provider: 'holder', data: {}, description: 'x' });
    // Pretend another live process owns it: rewrite the owner pid to our parent's.
    const text = readFileSync(journal.path, 'utf8').replace(`"pid":${process.pid}`, `"pid":${process.ppid}`);
    writeFileSync(journal.path, text);
    const report = await journal.recoverPending(() => undefined, () => {});
    expect(report.skippedLiveOwner.map((r) => r.faultId)).toEqual(['f-live']);
    expect(journal.pending()).toHaveLength(1);
  });
});
