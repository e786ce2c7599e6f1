// The rollback journal's promise, tested with real processes: a harness SIGKILLed while
// its fault is in leaves the fault in; the next start reverts it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RollbackJournal } from '../../src/engine/journal.ts';
import { processStartTime } from '../../src/engine/process-identity.ts';

const dir = mkdtempSync(join(tmpdir(), 'drillbook-crash-'));
const journalPath = join(dir, 'journal.jsonl');
const fixtures = join(__dirname, 'fixtures');
const holders: number[] = [];

/** Alive and not a zombie: an orphan killed here is reaped by init, which may take its time. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const children: ChildProcess[] = [];

/** Starts the harness fixture and resolves with the holder's pid once its fault is in. */
function startHarness(journal: string, mode: 'plain' | 'signals', env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'harness-child.ts'), journal, mode], {
    env: { ...process.env, HOLDER_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) {
          child.stdout.off('data', check);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      check();
      void exited.then((code) => reject(new Error(`harness exited with ${code} before ${re}: ${out}${err}`)));
    });
  const injected = waitFor(/INJECTED holder pid (\d+)/).then((m) => {
    const pid = Number(m[1]);
    holders.push(pid);
    return pid;
  });
  return { child, injected, exited, waitFor, output: () => ({ out, err }) };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of holders) if (alive(pid)) process.kill(-pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('crash recovery', () => {
  it('a SIGKILLed harness leaves its fault in; the next start reverts it', async () => {
    const { child, injected, exited } = startHarness(journalPath, 'plain');
    const holderPid = await injected;
    expect(alive(holderPid)).toBe(true);
    expect(new RollbackJournal(journalPath).pending()).toHaveLength(1);

    child.kill('SIGKILL');
    await exited;
    // The crash reverted nothing: the fault outlived the harness.
    expect(alive(holderPid)).toBe(true);
    expect(readFileSync(journalPath, 'utf8')).toContain('"op":"pending"');

    const out = execFileSync(process.execPath, ['--import', 'tsx', join(fixtures, 'recover-child.ts'), journalPath], {
      env: { ...process.env, HOLDER_DIR: dir },
    }).toString();
    expect(JSON.parse(out)).toEqual({ reverted: 1, failed: 0, skipped: 0 });
    // SIGKILL to a process group is immediate, but reaping may lag a moment.
    for (let i = 0; i < 50 && alive(holderPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(holderPid)).toBe(false);
    expect(new RollbackJournal(journalPath).pending()).toEqual([]);
  });

  it('does not revert the faults of a harness that is still running', async () => {
    const journal = new RollbackJournal(join(dir, 'live.jsonl'));
    journal.recordPending({ faultId: 'f-live', provider: 'holder', data: {}, description: 'x' });
    // Pretend another live process owns it: rewrite the owner (pid and start time) to our parent's.
    const text = readFileSync(journal.path, 'utf8')
      .replace(`"pid":${process.pid}`, `"pid":${process.ppid}`)
      .replace(`"startTime":${processStartTime(process.pid)}`, `"startTime":${processStartTime(process.ppid)}`);
    writeFileSync(journal.path, text);
    const report = await journal.recoverPending(
      () => undefined,
      () => {},
    );
    expect(report.skippedLiveOwner.map((r) => r.faultId)).toEqual(['f-live']);
    expect(journal.pending()).toHaveLength(1);
  });

  it('SIGINT aborts the run: the fault is reverted, a second SIGINT does not stop the revert, exit 3', async () => {
    const journal = join(dir, 'signals.jsonl');
    // The revert takes 1.5 s, so the second SIGINT lands while it runs.
    const h = startHarness(journal, 'signals', { HOLDER_REVERT_MS: '1500' });
    const holderPid = await h.injected;
    expect(alive(holderPid)).toBe(true);
    h.child.kill('SIGINT');
    await h.waitFor(/REVERTING signal/);
    h.child.kill('SIGINT');
    const code = await h.exited;
    const { out, err } = h.output();
    expect(code).toBe(3);
    expect(err).toMatch(/SIGINT: aborting the run/);
    expect(err).toMatch(/SIGINT again: still reverting/);
    const outcome = JSON.parse(/OUTCOME (.*)/.exec(out)![1]!) as { status: string; reason: string };
    expect(outcome).toMatchObject({ status: 'aborted', reason: 'signal: received SIGINT' });
    for (let i = 0; i < 50 && alive(holderPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(holderPid)).toBe(false);
    expect(new RollbackJournal(journal).pending()).toEqual([]);
  });
});
