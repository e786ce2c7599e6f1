// `drill verify` on a hostile pack: FIFOs, device links, extra symlinks, malformed statements,
// manifests and records, a run id that climbs out of the pack. Each is a named failure, found
// promptly (a FIFO or /dev/zero opened for reading would hang the test), never an exception.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { packDir } from '../../src/evidence/layout.ts';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { writeTraceFiles } from '../../src/evidence/traces.ts';
import { verifyPack, type Problem } from '../../src/evidence/verify.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-hostile-'));
const evidence = join(root, 'evidence-pack');
const pack = packDir(evidence, 'h1');
let keys: ReturnType<typeof keygen>;
let recordFile: string;

beforeAll(() => {
  keys = keygen(join(root, 'keys'));
  const rec = syntheticRunRecord(0);
  writeTraceFiles(evidence, 'h1', rec.runId, { traceId: undefined, spans: [], annotations: [] });
  recordFile = `chaos-dr/${writeRunRecord(evidence, 'h1', rec).path.split('/').pop()}`;
  sealPack(pack, loadSigningKey(keys.privateKeyPath)!);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function copy(): string {
  const dir = mkdtempSync(join(root, 'copy-'));
  cpSync(pack, dir, { recursive: true });
  return dir;
}
const check = (dir: string) => verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) });
const envelopeOf = (payload: string, sig: string) =>
  JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(payload).toString('base64'), signatures: [{ keyid: 'k', sig }] });
const named = (ps: Problem[]) => ps.map((p) => `${p.kind} ${p.path}`);

/** Writes a record as an insider would, then reseals so only verify's own checks are left. */
function packWithRecord(edit: (r: Record<string, unknown>) => void): string {
  const dir = copy();
  const r = JSON.parse(readFileSync(join(dir, recordFile), 'utf8')) as Record<string, unknown>;
  edit(r);
  writeFileSync(join(dir, recordFile), canonicalJson(r));
  sealPack(dir, loadSigningKey(keys.privateKeyPath)!, { reseal: true });
  return dir;
}

describe('verify on a hostile pack', () => {
  it('the untouched pack verifies', () => {
    expect(check(pack).problems).toEqual([]);
  });

  it('a FIFO in traces/, extra or in place of a listed file, is named and never opened', () => {
    const dir = copy();
    execFileSync('mkfifo', [join(dir, 'traces', 'extra.spans.json')]);
    unlinkSync(join(dir, 'traces', 'run-0.spans.json'));
    execFileSync('mkfifo', [join(dir, 'traces', 'run-0.spans.json')]);
    const r = check(dir);
    expect(r.ok).toBe(false);
    expect(named(r.problems)).toEqual(expect.arrayContaining(['irregular-file traces/extra.spans.json', 'irregular-file traces/run-0.spans.json']));
    expect(r.problems.find((p) => p.path === 'traces/extra.spans.json')!.detail).toContain('a FIFO');
  });

  it('a symlink to /dev/zero, extra or in place of the run record, and a symlinked directory are named and never followed', () => {
    const dir = copy();
    symlinkSync('/dev/zero', join(dir, 'traces', 'zero.json'));
    unlinkSync(join(dir, recordFile));
    symlinkSync('/dev/zero', join(dir, recordFile));
    symlinkSync('/etc', join(dir, 'chaos-dr', 'etc'));
    const r = check(dir);
    const expected = ['irregular-file traces/zero.json', `irregular-file ${recordFile}`, 'irregular-file chaos-dr/etc'];
    expect(named(r.problems)).toEqual(expect.arrayContaining(expected));
    expect(r.problems.find((p) => p.path === 'chaos-dr/etc')!.detail).toContain('a symbolic link');
    expect(named(r.problems)).not.toContain(`missing-file ${recordFile}`);
  });

  it('the manifest or the statement replaced by a FIFO or a device link', () => {
    const a = copy();
    unlinkSync(join(a, 'manifest.json'));
    execFileSync('mkfifo', [join(a, 'manifest.json')]);
    expect(named(check(a).problems)).toEqual(['irregular-file manifest.json']);
    const b = copy();
    unlinkSync(join(b, 'statement.intoto.json'));
    symlinkSync('/dev/zero', join(b, 'statement.intoto.json'));
    expect(named(check(b).problems)).toEqual(expect.arrayContaining(['irregular-file statement.intoto.json']));
  });

  it.each([
    ['not JSON', 'not json {', 'the envelope is not JSON'],
    ['null', 'null', 'not a JSON object'],
    ['wrong types', '{"payloadType":5,"payload":[],"signatures":"x"}', 'payloadType: not a string'],
    ['signatures not objects', `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[1]}`, 'signatures[0]'],
    ['a payload that is not JSON', envelopeOf('nope', 'AAAA'), 'the payload is not JSON'],
    ['a payload of the wrong shape', envelopeOf('{"subject":"x"}', '!!'), 'payload.subject: not an array'],
  ])('a malformed statement (%s) is a named failure', (_name, text, detail) => {
    const dir = copy();
    writeFileSync(join(dir, 'statement.intoto.json'), text);
    const r = check(dir);
    expect(r.ok).toBe(false);
    expect(
      r.problems
        .filter((p) => p.path === 'statement.intoto.json')
        .map((p) => p.detail)
        .join(' | '),
    ).toContain(detail);
  });

  it('a malformed manifest (a path climbing out, bad digests, not JSON) is a named failure', () => {
    const dir = copy();
    writeFileSync(join(dir, 'manifest.json'), '{"schema":"drillbook.manifest/v1","files":[{"path":"../../etc/passwd","sha256":"zz","size":1}]}');
    const detail = 'files[0].path: "../../etc/passwd" is not a plain path inside the pack';
    expect(check(dir).problems).toEqual([{ kind: 'malformed', path: 'manifest.json', detail }]);
    writeFileSync(join(dir, 'manifest.json'), '[');
    expect(named(check(dir).problems)).toEqual(['malformed manifest.json']);
  });

  it('a record whose runId is ../../etc/passwd is named before any path is built from it', () => {
    const dir = packWithRecord((r) => {
      r.runId = '../../etc/passwd';
    });
    const r = check(dir);
    const detail = "runId: \"../../etc/passwd\" is not a run id (letters, digits, '.', '-', '_')";
    expect(r.problems).toEqual([{ kind: 'malformed', path: recordFile, detail }]);
  });

  it('a record with fields of the wrong type, or one the formulas cannot digest, is a named failure', () => {
    const wrong = packWithRecord((r) => {
      r.events = 'x';
    });
    expect(check(wrong).problems).toEqual([{ kind: 'malformed', path: recordFile, detail: 'events: not an array' }]);
    const indigestible = packWithRecord((r) => {
      (r.plan as { phases: unknown[] }).phases = [null];
    });
    const p = check(indigestible).problems;
    expect(named(p)).toEqual([`malformed ${recordFile}`]);
    expect(p[0]!.detail).toContain('cannot be derived again from its events');
  });
});
