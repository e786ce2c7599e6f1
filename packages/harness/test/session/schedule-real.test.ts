// `drill schedule` with two real drills on a 15-second cron against the local stage (each
// run starts its own stage): never two runs of one drill at once, a tick that finds a run
// still going reported as missed, every run recorded in the pack, which still verifies.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPublicKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { repoRoot, seedProject } from '../support/seed-project.ts';

const project = seedProject('drillbook-schedule-');
afterAll(() => project.remove());

const DRILLS = ['drills/example.ts', 'drills/dr-timed-restore.ts'];

describe('drill schedule with real drills', () => {
  it('runs both on a 15 s cron without overlap per drill, reports missed ticks, records every run', async () => {
    const p = spawn(process.execPath, [join(repoRoot, 'packages/harness/bin/drill.js'), 'schedule', ...DRILLS, '--cron', '*/15 * * * * *'], {
      cwd: project.root,
      env: { ...process.env, CI: 'true' },
    });
    const events: Array<{ drill: string; kind: string; exit?: number; afterStop?: boolean }> = [];
    let stopSent = false;
    let err = '';
    let partial = '';
    const done = new Promise<number | null>((resolve) => p.on('exit', resolve));
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const m = /^\S+Z (\S+): (started|finished|missed|failed)(?: \(exit (\d+)\))?/.exec(l);
        if (m) events.push({ drill: m[1]!, kind: m[2]!, ...(m[3] ? { exit: Number(m[3]) } : {}), afterStop: stopSent });
      }
      // Enough seen: both drills finished once and the long one missed a tick.
      const finished = (d: string) => events.some((e) => e.drill === d && e.kind === 'finished');
      if (DRILLS.every(finished) && events.some((e) => e.kind === 'missed') && !stopSent) stop();
    });
    const stop = () => {
      stopSent = true;
      p.kill('SIGINT');
    };
    const timer = setTimeout(stop, 170_000);
    expect(await done, err).toBe(0);
    clearTimeout(timer);
    for (const d of DRILLS) {
      const mine = events.filter((e) => e.drill === d && (e.kind === 'started' || e.kind === 'finished'));
      // started, finished, started, finished…: never a second start before the first ended.
      mine.forEach((e, i) => expect(e.kind, `${d} event ${i}`).toBe(i % 2 === 0 ? 'started' : 'finished'));
      // Every run that ended before the stop passed; one the SIGINT caught mid-way was aborted
      // (exit 3, its faults reverted) and still recorded: stopping a schedule loses nothing.
      for (const f of mine.filter((e) => e.kind === 'finished')) expect(f.afterStop ? [0, 3] : [0], err).toContain(f.exit);
      expect(mine.at(-1)!.kind).toBe('finished'); // the schedule waited for the run in progress
    }
    const aborted = events.filter((e) => e.kind === 'finished' && e.exit === 3).length;
    expect(events.filter((e) => e.kind === 'missed').length).toBeGreaterThanOrEqual(1);
    const pack = join(project.root, 'evidence-pack', 'release-nightly');
    const finishedRuns = events.filter((e) => e.kind === 'finished').length;
    const records = readdirSync(join(pack, 'chaos-dr')).map((f) => JSON.parse(readFileSync(join(pack, 'chaos-dr', f), 'utf8')) as { verdict: string });
    expect(records).toHaveLength(finishedRuns);
    expect(records.filter((r) => r.verdict === 'aborted')).toHaveLength(aborted);
    expect(verifyPack(pack, { publicKey: loadPublicKey(join(project.root, '.drillbook', 'keys', 'signing.pub')) }).problems).toEqual([]);
  }, 240_000);
});
