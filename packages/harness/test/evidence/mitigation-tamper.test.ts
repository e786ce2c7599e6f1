// TTM and rollback duration are re-derived by `drill verify` from the raw events like every other
// figure: an edited one is caught even in a pack re-signed with the right key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { rollbackRecord } from '../support/recovery-record.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-mitigation-pack-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('mitigation measures in a pack', () => {
  it('are recorded, verify clean, and an edited TTM or rollback duration is caught', () => {
    const evidenceDir = join(root, 'evidence-pack');
    const rec = rollbackRecord('remediated');
    // The remediation started 4 s after the migration went in; the probe passed from 1 s later.
    expect(rec.measures['bad-migration.ttm']).toMatchObject({ value: 4_000, formula: 'ttm.v1' });
    expect(rec.measures['bad-migration.rollback']!.formula).toBe('rollback.v1');
    const rollback = rec.measures['bad-migration.rollback']!.value!;
    expect(rollback).toBe(rec.measures['bad-migration.ttr']!.value! - 4_000);
    const written = writeRunRecord(evidenceDir, 'm', rec);
    const pack = written.packDir;
    const keys = keygen(join(root, 'keys'));
    sealPack(pack, loadSigningKey(keys.privateKeyPath)!);
    const verify = () => verifyPack(pack, { publicKey: loadPublicKey(keys.publicKeyPath) }).problems.map((p) => p.detail);
    expect(verify()).toEqual([]);

    const file = written.path;
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.measures['bad-migration.ttm'].value = 1_000; // "the automation reacted in 1 s"
    edited.measures['bad-migration.rollback'].value = 500;
    writeFileSync(file, canonicalJson(edited));
    sealPack(pack, loadSigningKey(keys.privateKeyPath)!, { reseal: true });
    expect(verify().sort()).toEqual([
      `measure bad-migration.rollback: recorded 500, derived from the raw events ${rollback}`,
      'measure bad-migration.ttm: recorded 1000, derived from the raw events 4000',
    ]);
  });
});
