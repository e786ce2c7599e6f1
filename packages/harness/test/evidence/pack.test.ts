// A pack written, sealed and verified; then every kind of tampering is caught and named.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/types.ts';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey, pae } from '../../src/evidence/sign.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { updateManifest } from '../../src/evidence/manifest.ts';
import { canonicalJson, sha256 } from '../../src/evidence/canonical.ts';
import { redact } from '../../src/evidence/redact.ts';
import { syntheticRunRecord as record } from '../support/run-record-fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-pack-'));
const evidenceDir = join(root, 'evidence-pack');
const pack = join(evidenceDir, 'release-1.2.3');
let keys: ReturnType<typeof keygen>;

/** A fresh copy of the sealed pack for one tampering. */
function copy(): string {
  const dir = mkdtempSync(join(root, 'copy-'));
  cpSync(pack, dir, { recursive: true });
  return dir;
}

beforeAll(() => {
  writeRunRecord(evidenceDir, '1.2.3', record(0));
  writeRunRecord(evidenceDir, '1.2.3', record(0)); // same second: a second file, not an overwrite
  keys = keygen(join(root, 'keys'));
  sealPack(pack, loadSigningKey(keys.privateKeyPath)!);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const kindsOf = (dir: string, key = keys.publicKeyPath) => verifyPack(dir, { publicKey: loadPublicKey(key) }).problems.map((p) => `${p.kind} ${p.path}`);

describe('evidence pack', () => {
  it('writes run records canonically under chaos-dr/ and verifies clean with the right key', () => {
    const result = verifyPack(pack, { publicKey: loadPublicKey(keys.publicKeyPath) });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.files).toBe(2);
    const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8'));
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(['chaos-dr/run-20261122-220501-2.json', 'chaos-dr/run-20261122-220501.json']);
    const text = readFileSync(join(pack, 'chaos-dr/run-20261122-220501.json'), 'utf8');
    expect(text).toBe(canonicalJson(JSON.parse(text)));
  });

  it('keeps secrets out: passwords in URLs and secret-looking keys are redacted', () => {
    const text = readFileSync(join(pack, 'chaos-dr/run-20261122-220501.json'), 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('"abc"');
    expect(text).toContain('postgres://drill:[redacted]@127.0.0.1');
    expect(redact({ Authorization: 'Bearer x', nested: [{ password: 'p' }] })).toEqual({ Authorization: '[redacted]', nested: [{ password: '[redacted]' }] });
  });

  it('catches a changed byte in a record', () => {
    const dir = copy();
    const f = join(dir, 'chaos-dr/run-20261122-220501.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"drill":"nightly"', '"drill":"nightlx"'));
    expect(kindsOf(dir)).toContain('digest-mismatch chaos-dr/run-20261122-220501.json');
  });

  it('catches a removed file and an added file', () => {
    const dir = copy();
    unlinkSync(join(dir, 'chaos-dr/run-20261122-220501-2.json'));
    writeFileSync(join(dir, 'chaos-dr/run-extra.json'), '{}');
    expect(kindsOf(dir)).toEqual(expect.arrayContaining(['missing-file chaos-dr/run-20261122-220501-2.json', 'extra-file chaos-dr/run-extra.json']));
  });

  it('catches a foreign signature and a pack checked without a key', () => {
    const other = keygen(join(mkdtempSync(join(root, 'k-')), 'keys'));
    expect(kindsOf(pack, other.publicKeyPath)).toEqual(['bad-signature statement.intoto.json']);
    expect(verifyPack(pack).problems.map((p) => p.kind)).toEqual(['unverified-signature']);
  });

  it('catches an edited statement subject (the signature no longer covers it)', () => {
    const dir = copy();
    const path = join(dir, 'statement.intoto.json');
    const env = JSON.parse(readFileSync(path, 'utf8'));
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
    st.subject[1].digest.sha256 = '0'.repeat(64);
    env.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    writeFileSync(path, JSON.stringify(env));
    expect(kindsOf(dir)).toEqual(expect.arrayContaining(['bad-signature statement.intoto.json', `subject-mismatch ${st.subject[1].name}`]));
  });

  it('catches a measure edited consistently with its digests — re-signed by an attacker, or even with the right key', () => {
    const dir = copy();
    const f = join(dir, 'chaos-dr/run-20261122-220501.json');
    const rec = JSON.parse(readFileSync(f, 'utf8'));
    rec.measures['kill.ttr'].value = 1_000; // claim recovery in 1 s; the raw probes say 8 s
    writeFileSync(f, canonicalJson(rec));
    updateManifest(dir);
    // Sealing refuses a pack that no longer matches its statement; an insider forces it with reseal…
    expect(() => sealPack(dir, loadSigningKey(keys.privateKeyPath)!)).toThrow(/changed after it was sealed/);
    sealPack(dir, loadSigningKey(keys.privateKeyPath)!, { reseal: true });
    // …then the digests and the signature are all fine, the reseal is on record…
    const result = verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) });
    expect(result.reseals.map((r) => r.changed.map((c) => c.path))).toEqual([['chaos-dr/run-20261122-220501.json']]);
    // …and the figure no longer follows from its own raw events.
    expect(result.problems).toEqual([
      { kind: 'measure-mismatch', path: 'chaos-dr/run-20261122-220501.json', detail: 'measure kill.ttr: recorded 1000, derived from the raw events 8000' },
    ]);
    // An outsider re-signing with their own key is refused, and when forced, caught by the key.
    const attacker = generateKeyPairSync('ed25519');
    expect(() => sealPack(dir, attacker.privateKey)).toThrow(/does not verify with the key in use/);
    sealPack(dir, attacker.privateKey, { reseal: true });
    expect(kindsOf(dir)).toContain('bad-signature statement.intoto.json');
    void createPublicKey;
  });

  it('catches an edited recoveredBy-derived measure: the trend MTTR and the incident count', () => {
    const dir = copy();
    const f = join(dir, 'chaos-dr/run-20261122-220501.json');
    const rec = JSON.parse(readFileSync(f, 'utf8'));
    rec.measures.mttrOwnRecovery.value = 2_000; // the kill episode self-healed in 8 s, says the log
    rec.measures.incidents.value = 0;
    writeFileSync(f, canonicalJson(rec));
    sealPack(dir, loadSigningKey(keys.privateKeyPath)!, { reseal: true });
    expect(verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) }).problems.map((p) => p.detail)).toEqual([
      'measure incidents: recorded 0, derived from the raw events 1',
      'measure mttrOwnRecovery: recorded 2000, derived from the raw events 8000',
    ]);
  });

  it('catches an edited verdict', () => {
    const dir = copy();
    const f = join(dir, 'chaos-dr/run-20261122-220501-2.json');
    const rec = JSON.parse(readFileSync(f, 'utf8'));
    rec.verdict = 'pass';
    rec.checks = [];
    rec.events = rec.events.filter((e: RunEvent) => !(e.kind === 'alert'));
    writeFileSync(f, canonicalJson(rec));
    sealPack(dir, loadSigningKey(keys.privateKeyPath)!, { reseal: true });
    expect(kindsOf(dir)).toContain('verdict-mismatch chaos-dr/run-20261122-220501-2.json');
  });

  it('reports an unsigned pack unless explicitly allowed', () => {
    const dir = copy();
    unlinkSync(join(dir, 'statement.intoto.json'));
    expect(verifyPack(dir).problems.map((p) => p.kind)).toEqual(['unsigned']);
    expect(verifyPack(dir, { allowUnsigned: true }).ok).toBe(true);
  });

  it('signs over the DSSE pre-authentication encoding', () => {
    expect(pae('application/vnd.in-toto+json', Buffer.from('{}')).toString()).toBe('DSSEv1 28 application/vnd.in-toto+json 2 {}');
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
