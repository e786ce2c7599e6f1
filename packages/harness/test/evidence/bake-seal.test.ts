// Sealing next to a bake: a bake still running (or to be resumed) leaves its working files
// unsigned without blocking other runs' seals; the bake's record, once written, vouches for
// its checkpoints and state even when an earlier (crashed) process wrote them.
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineBake } from '../../src/define/bake.ts';
import { VirtualClock } from '../../src/engine/clock.ts';
import { forgetWrittenUnder, writeFileAtomic } from '../../src/evidence/atomic-write.ts';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { runBake, simulatedTelemetry } from '../../src/session/bake.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-bake-seal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sealing beside a bake', () => {
  it('a running bake does not block a drill seal, and its record later vouches for files another process wrote', async () => {
    const keys = keygen(join(root, 'keys'));
    const key = loadSigningKey(keys.privateKeyPath)!;
    const evidence = join(root, 'evidence');
    const pack = join(evidence, 'release-b1');
    const clock = new VirtualClock();
    const start = clock.now();
    const plan = defineBake({ name: 'bake-3h', environments: ['local'], duration: '3h', checkpoint: '1h' });
    const telemetry = simulatedTelemetry({ requestsPerSecond: 10, errorRatio: 0, p50Ms: 10, p95Ms: 30, startedAt: () => start });
    const r = await runBake(plan, { packDir: pack, clock, telemetry });
    // As if the bake were still going in another process: its record not written yet, its files not ours.
    const recordText = readFileSync(r.path, 'utf8');
    unlinkSync(r.path);
    forgetWrittenUnder(pack);
    writeRunRecord(evidence, 'b1', syntheticRunRecord(0));
    const notes: string[] = [];
    const drillSeal = sealPack(pack, key, { note: (l) => notes.push(l) });
    expect(drillSeal.pending).toHaveLength(4); // three checkpoints and the state
    expect(drillSeal.signed).toEqual(['chaos-dr/run-20261122-220501.json']);
    expect(notes.join('\n')).toContain('bake still running or to be resumed');
    // The bake finishes in a later process: it writes only the record, which vouches for the rest.
    forgetWrittenUnder(pack);
    writeFileAtomic(r.path, recordText);
    const bakeSeal = sealPack(pack, key);
    expect(bakeSeal.pending).toEqual([]);
    expect(bakeSeal.signed.filter((p) => p.startsWith('bake/'))).toHaveLength(5);
    expect(verifyPack(pack, { publicKey: loadPublicKey(keys.publicKeyPath) }).problems).toEqual([]);
  });
});
