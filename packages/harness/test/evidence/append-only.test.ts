// Sealing is append-only: a pack that no longer matches its signed statement (a run deleted,
// a file changed or added, a crash between writing and sealing) is refused, not re-signed as
// found; `reseal` signs it anyway and records that in the pack, where verify shows it.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/errors.ts';
import { ExitCode } from '../../src/engine/types.ts';
import { packDir } from '../../src/evidence/layout.ts';
import { writeRunRecord, type RunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { measureEpisodes, mttr } from '../../src/measure/episodes.ts';
import { decideVerdict } from '../../src/measure/verdict.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-append-only-'));
let keys: ReturnType<typeof keygen>;
const key = () => loadSigningKey(keys.privateKeyPath)!;
const verify = (dir: string) => verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) });

/** A consistent failed run: the expected alert never fired, so its verdict is fail. */
function failedRun(offset: number): RunRecord {
  const r = syntheticRunRecord(offset);
  const events = r.events.filter((e) => e.kind !== 'alert');
  const episodes = measureEpisodes(events, r.plan);
  const { verdict, checks } = decideVerdict({ outcome: { status: 'completed' }, events, episodes });
  const measures: RunRecord['measures'] = { ...r.measures, mttr: mttr(episodes) };
  for (const e of episodes) Object.assign(measures, { [`${e.phase}.ttd`]: e.ttd, [`${e.phase}.ttr`]: e.ttr, [`${e.phase}.impact`]: e.impact });
  return { ...r, runId: `run-failed-${offset}`, events, measures, checks, verdict, exitCode: 1 };
}

/** A release with a passing and a failing run, sealed. */
function sealedRelease(release: string): { dir: string; failedFile: string } {
  const evidence = join(root, `ev-${release}`);
  writeRunRecord(evidence, release, syntheticRunRecord(0));
  const failed = writeRunRecord(evidence, release, failedRun(60_000));
  const dir = packDir(evidence, release);
  sealPack(dir, key());
  return { dir, failedFile: `chaos-dr/${failed.path.split('/').pop()}` };
}

function refusal(fn: () => unknown): Error & { exitCode?: number } {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the seal to be refused');
}

function crashAfterWriting(release: string, mode: 'record' | 'temp'): Promise<string> {
  const evidence = join(root, `ev-${release}`);
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', join(__dirname, 'fixtures', 'write-then-crash.ts'), evidence, release, keys.privateKeyPath, mode];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('WRITTEN')) p.kill('SIGKILL');
    });
    p.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(packDir(evidence, release));
      else reject(new Error(`fixture ended without being killed: ${out}`));
    });
  });
}

beforeAll(() => {
  keys = keygen(join(root, 'keys'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('append-only sealing', () => {
  it('a failed run deleted from a sealed pack: a later seal (drill review, the next run) is refused with exit 4, naming it', () => {
    const { dir, failedFile } = sealedRelease('deleted');
    expect(verify(dir).problems).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, failedFile), 'utf8')).verdict).toBe('fail');
    unlinkSync(join(dir, failedFile));
    const statementBefore = readFileSync(join(dir, 'statement.intoto.json'), 'utf8');
    const err = refusal(() => sealPack(dir, key()));
    expect(exitCodeOf(err)).toBe(ExitCode.environment);
    expect(err.message).toContain(`${failedFile}: signed, now missing`);
    expect(err.message).toContain('--reseal');
    // Nothing was signed: the pack still says the run is missing.
    expect(readFileSync(join(dir, 'statement.intoto.json'), 'utf8')).toBe(statementBefore);
    expect(verify(dir).problems.map((p) => `${p.kind} ${p.path}`)).toContain(`missing-file ${failedFile}`);
  });

  it('with reseal the pack is signed as found, and the reseal (who, when, what was missing) is in the pack and shown by verify', () => {
    const { dir, failedFile } = sealedRelease('resealed');
    unlinkSync(join(dir, failedFile));
    const r = sealPack(dir, key(), { reseal: true, actor: 'reviewer@ci', now: () => Date.UTC(2026, 10, 23) });
    expect(r.reseal?.missing.map((m) => m.path)).toEqual([failedFile]);
    const v = verify(dir);
    expect(v.problems).toEqual([]);
    expect(v.reseals).toHaveLength(1);
    expect(v.reseals[0]).toMatchObject({ by: 'reviewer@ci', at: '2026-11-23T00:00:00.000Z', missing: [{ path: failedFile }], changed: [], added: [] });
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files.map((f: { path: string }) => f.path)).toContain('reseals.jsonl');
    // The reseal log is itself signed: removing it is a change the next seal refuses.
    unlinkSync(join(dir, 'reseals.jsonl'));
    expect(refusal(() => sealPack(dir, key())).message).toContain('reseals.jsonl: signed, now missing');
  });

  it('a changed or hand-added file is refused; a file the caller vouches for (adopt) is signed', () => {
    const { dir } = sealedRelease('changed');
    const copy = mkdtempSync(join(root, 'copy-'));
    cpSync(dir, copy, { recursive: true });
    const rec = readdirSync(join(copy, 'chaos-dr'))[0]!;
    writeFileSync(join(copy, 'chaos-dr', rec), readFileSync(join(copy, 'chaos-dr', rec), 'utf8').replace('"verdict":"fail"', '"verdict":"pass"'));
    writeFileSync(join(copy, 'chaos-dr', 'run-extra.json'), '{}');
    const msg = refusal(() => sealPack(copy, key())).message;
    expect(msg).toContain('chaos-dr/run-extra.json: not signed and not written by this process');
    mkdirSync(join(dir, 'rollout'));
    writeFileSync(join(dir, 'rollout', 'canary-metrics.json'), '{"intervals":[]}');
    expect(refusal(() => sealPack(dir, key())).message).toContain('rollout/canary-metrics.json: not signed');
    expect(sealPack(dir, key(), { adopt: ['rollout/canary-metrics.json'] }).adopted).toEqual(['rollout/canary-metrics.json']);
    expect(verify(dir).problems).toEqual([]);
  });

  it('a seal with another key than the one that signed the pack is refused', () => {
    const { dir } = sealedRelease('other-key');
    const other = keygen(join(mkdtempSync(join(root, 'k-')), 'keys'));
    expect(refusal(() => sealPack(dir, loadSigningKey(other.privateKeyPath)!)).message).toContain('does not verify with the key in use');
  });

  it('kill -9 between writing a run record and sealing it: the next seal refuses instead of signing the orphan', async () => {
    const dir = await crashAfterWriting('crashed', 'record');
    const orphan = readdirSync(join(dir, 'chaos-dr')).find((f) => f !== 'run-20261122-220501.json')!;
    const err = refusal(() => sealPack(dir, key()));
    expect(exitCodeOf(err)).toBe(ExitCode.environment);
    expect(err.message).toContain(`chaos-dr/${orphan}: not signed and not written by this process: left by a run that crashed before sealing`);
    // The pack stays visibly unsealed for that record: verify names it until someone decides.
    expect(verify(dir).problems.map((p) => `${p.kind} ${p.path}`)).toContain(`subject-mismatch chaos-dr/${orphan}`);
  });

  it('kill -9 in the middle of an atomic write: the next seal removes the temp file, says so, and the pack verifies', async () => {
    const dir = await crashAfterWriting('crashed-temp', 'temp');
    const temps = readdirSync(join(dir, 'chaos-dr')).filter((f) => f.endsWith('.tmp'));
    expect(temps).toHaveLength(1);
    const notes: string[] = [];
    const r = sealPack(dir, key(), { note: (l) => notes.push(l) });
    expect(r.cleaned).toEqual([`chaos-dr/${temps[0]}`]);
    expect(notes.join('\n')).toContain(`removed 1 temp file(s) of unfinished writes (a crashed write), not signed: chaos-dr/${temps[0]}`);
    expect(existsSync(join(dir, 'chaos-dr', temps[0]!))).toBe(false);
    expect(verify(dir).problems).toEqual([]);
  });
});
