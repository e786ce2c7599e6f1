// `drill verify`: a pack is trusted only when every file matches the manifest, the
// manifest and records match the signed statement, the signature verifies with a key
// the reviewer holds, and every figure follows again from the raw data in the pack.
//
// The pack may be hostile: only regular files found by an lstat walk are opened (symlinks,
// FIFOs and devices are named failures, never read), every field is checked before it is
// used, paths are built only from digest-checked, validated values, and anything malformed
// is a named problem (exit 1), never an exception.
import type { KeyObject } from 'node:crypto';
import { sha256 } from './canonical.ts';
import { keyIdOf } from './sign.ts';
import { MANIFEST, RESEALS, STATEMENT, bakePaths, isBakeRecordPath } from './layout.ts';
import type { Manifest, ManifestEntry } from './manifest.ts';
import { contentFiles, hashPackFile, readPackFile, walkPack, type PackWalk } from './pack-fs.ts';
import { rederiveBakeRecord, rederiveRunRecord, type Difference } from './rederive.ts';
import { BAKE_RECORD_SCHEMA, type BakeRecord, type Checkpoint } from '../measure/bake.ts';
import type { StoredSpan } from '../observe/trace-store.ts';
import { RUN_RECORD_SCHEMA, type RunRecord } from './run-record.ts';
import { parseReseals, type ResealEntry } from './seal.ts';
import { bakeRecordProblem, isObj, manifestProblem, runRecordProblem, spansDocProblem } from './shapes.ts';
import { readStatement, signedDigests } from './statement.ts';

export type ProblemKind =
  | 'missing-file'
  | 'extra-file'
  | 'irregular-file'
  | 'digest-mismatch'
  | 'bad-signature'
  | 'unsigned'
  | 'unverified-signature'
  | 'subject-mismatch'
  | 'measure-mismatch'
  | 'verdict-mismatch'
  | 'malformed';

export interface Problem {
  kind: ProblemKind;
  path: string;
  detail: string;
}

export interface VerifyOptions {
  publicKey?: KeyObject;
  /** More public keys the signature may verify with (a keyring: current and rotated-out keys), matched by keyid. */
  keyring?: readonly KeyObject[];
  /** Accept a pack with no statement (a local run without a key): still checks digests and figures. */
  allowUnsigned?: boolean;
  rederive?: (record: RunRecord, spans?: readonly StoredSpan[]) => Difference[];
}

export interface VerifyResult {
  ok: boolean;
  problems: Problem[];
  files: number;
  signed: boolean;
  /** The keyid of the given key that verified the statement. */
  keyid?: string;
  /** Reseals recorded in the pack (reseals.jsonl, signed): the pack was once signed as found. */
  reseals: ResealEntry[];
}

const add = (problems: Problem[], kind: ProblemKind, path: string, detail: string) => problems.push({ kind, path, detail });
const kindOf = (d: Difference): ProblemKind => (d.what === 'verdict' ? 'verdict-mismatch' : 'measure-mismatch');
const describeDiff = (d: Difference) => `${d.what}: recorded ${JSON.stringify(d.recorded)}`;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A pack document parsed from exactly the bytes whose digest matched the manifest. */
type Reader = (path: string) => unknown;

function makeReader(packDir: string, walk: PackWalk, listed: Map<string, ManifestEntry>, problems: Problem[]): Reader {
  return (path) => {
    const f = listed.get(path);
    const e = walk.files.get(path);
    if (!f || !e) return undefined;
    try {
      const bytes = readPackFile(packDir, path, e);
      if (sha256(bytes) !== f.sha256) return undefined; // named already as a digest mismatch; never used
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (err) {
      problems.push({ kind: 'malformed', path, detail: message(err) });
      return undefined;
    }
  };
}

export function verifyPack(packDir: string, options: VerifyOptions = {}): VerifyResult {
  try {
    return verifyUnsafe(packDir, options);
  } catch (err) {
    // Anything not foreseen (an unreadable directory, a file vanishing mid-walk) is still a named failure.
    const problems = [{ kind: 'malformed' as const, path: '.', detail: `could not verify the pack: ${message(err)}` }];
    return { ok: false, problems, files: 0, signed: false, reseals: [] };
  }
}

function verifyUnsafe(packDir: string, options: VerifyOptions): VerifyResult {
  const problems: Problem[] = [];
  const rederive = options.rederive ?? rederiveRunRecord;
  const fail = (files = 0): VerifyResult => ({ ok: false, problems, files, signed: false, reseals: [] });
  let walk: PackWalk;
  try {
    walk = walkPack(packDir);
  } catch (err) {
    add(problems, 'missing-file', MANIFEST, `no evidence pack at ${packDir} (${message(err)})`);
    return fail();
  }
  if (walk.truncated) add(problems, 'malformed', '.', `not read completely: ${walk.truncated}`);
  for (const odd of walk.irregular) add(problems, 'irregular-file', odd.path, `${odd.type}: never opened; a pack holds regular files only`);
  for (const t of walk.temps) add(problems, 'extra-file', t, 'temp file of a write that never finished');

  // The manifest, checked before any of it is used.
  const manifestEntry = walk.files.get(MANIFEST);
  if (!manifestEntry) {
    const why = 'no manifest: this is not an evidence pack, or it was never finished';
    if (!walk.irregular.some((e) => e.path === MANIFEST)) add(problems, 'missing-file', MANIFEST, why);
    return fail();
  }
  let manifestBytes: Buffer;
  let manifest: Manifest;
  try {
    manifestBytes = readPackFile(packDir, MANIFEST, manifestEntry, 64 * 1024 * 1024);
    const parsed: unknown = JSON.parse(manifestBytes.toString('utf8'));
    const bad = manifestProblem(parsed);
    if (bad) {
      add(problems, 'malformed', MANIFEST, bad);
      return fail();
    }
    manifest = parsed as Manifest;
  } catch (err) {
    add(problems, 'malformed', MANIFEST, message(err));
    return fail();
  }

  // Files against the manifest.
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const irregular = new Set(walk.irregular.map((e) => e.path));
  for (const f of manifest.files) {
    const e = walk.files.get(f.path);
    if (!e) {
      if (!irregular.has(f.path)) add(problems, 'missing-file', f.path, 'listed in the manifest, not in the pack');
      continue;
    }
    try {
      const actual = hashPackFile(packDir, f.path, e).sha256;
      if (actual !== f.sha256) add(problems, 'digest-mismatch', f.path, `sha256 ${actual.slice(0, 12)}…, manifest says ${f.sha256.slice(0, 12)}…`);
    } catch (err) {
      add(problems, 'malformed', f.path, message(err));
    }
  }
  for (const p of contentFiles(walk)) if (!listed.has(p)) add(problems, 'extra-file', p, 'in the pack, not in the manifest');

  // The signed statement.
  const keys = [...(options.publicKey ? [options.publicKey] : []), ...(options.keyring ?? [])];
  const st = readStatement(packDir, walk, keys);
  if (!st.present) {
    if (!options.allowUnsigned) add(problems, 'unsigned', STATEMENT, 'the pack is not signed');
  } else {
    for (const d of st.problems) add(problems, 'malformed', STATEMENT, d);
    if (st.signature !== 'unchecked' || st.statement) {
      if (keys.length === 0) add(problems, 'unverified-signature', STATEMENT, 'no public key given (--key, --keyring): a pack cannot vouch for itself');
      else if (st.signature === 'bad') add(problems, 'bad-signature', STATEMENT, badSignatureDetail(keys, st.keyids ?? []));
    }
    if (st.statement) {
      const subjects = signedDigests(st.statement);
      const mismatch = (path: string, detail: string) => add(problems, 'subject-mismatch', path, detail);
      if (subjects.get(MANIFEST) !== sha256(manifestBytes)) mismatch(MANIFEST, 'the manifest is not the one that was signed');
      for (const f of manifest.files)
        if (subjects.get(f.path) !== f.sha256) mismatch(f.path, subjects.has(f.path) ? 'digest differs from the signed one' : 'not in the signed statement');
      for (const name of subjects.keys()) if (name !== MANIFEST && !listed.has(name)) mismatch(name, 'signed, but no longer in the manifest');
    }
  }

  const read = makeReader(packDir, walk, listed, problems);
  const reseals = resealsOf(packDir, walk, listed);

  // Every figure again from the raw data: run records…
  for (const f of manifest.files.filter((x) => x.path.startsWith('chaos-dr/') && x.path.endsWith('.json'))) {
    const record = read(f.path);
    if (record === undefined) continue;
    if (!isObj(record) || record.schema !== RUN_RECORD_SCHEMA) {
      const schema = isObj(record) ? JSON.stringify(record.schema) : 'missing';
      add(problems, 'malformed', f.path, `schema ${schema}, expected ${RUN_RECORD_SCHEMA}`);
      continue;
    }
    const bad = runRecordProblem(record);
    if (bad) {
      add(problems, 'malformed', f.path, bad);
      continue;
    }
    const rec = record as unknown as RunRecord;
    const spansPath = `traces/${rec.runId}.spans.json`;
    const spansDoc = read(spansPath);
    let spans: StoredSpan[] | undefined;
    if (spansDoc !== undefined) {
      const badSpans = spansDocProblem(spansDoc);
      if (badSpans) add(problems, 'malformed', spansPath, badSpans);
      else spans = (spansDoc as { spans: StoredSpan[] }).spans;
    }
    try {
      for (const d of rederive(rec, spans)) add(problems, kindOf(d), f.path, `${describeDiff(d)}, derived from the raw events ${JSON.stringify(d.derived)}`);
    } catch (err) {
      add(problems, 'malformed', f.path, `its figures cannot be derived again from its events: ${message(err)}`);
    }
  }
  // …and bake records, against the checkpoint files written as the bake went.
  for (const f of manifest.files.filter((x) => isBakeRecordPath(x.path))) {
    const bake = read(f.path);
    if (bake === undefined) continue;
    if (!isObj(bake) || bake.schema !== BAKE_RECORD_SCHEMA) {
      const schema = isObj(bake) ? JSON.stringify(bake.schema) : 'missing';
      add(problems, 'malformed', f.path, `schema ${schema}, expected ${BAKE_RECORD_SCHEMA}`);
      continue;
    }
    const bad = bakeRecordProblem(bake);
    if (bad) {
      add(problems, 'malformed', f.path, bad);
      continue;
    }
    const rec = bake as unknown as BakeRecord;
    const paths = bakePaths('', rec.bake);
    const checkpointFile = (i: number) => {
      const c = read(paths.checkpoint(rec.startedAt, i));
      return isObj(c) ? (c as unknown as Checkpoint) : undefined;
    };
    try {
      for (const d of rederiveBakeRecord(rec, checkpointFile))
        add(problems, kindOf(d), f.path, `${describeDiff(d)}, derived from the checkpoints ${JSON.stringify(d.derived)}`);
    } catch (err) {
      add(problems, 'malformed', f.path, `its verdict cannot be derived again from its checkpoints: ${message(err)}`);
    }
  }
  return { ok: problems.length === 0, problems, files: manifest.files.length, signed: st.present, ...(st.signedBy ? { keyid: st.signedBy } : {}), reseals };
}

/** Which key a signature names, when none of the given keys verifies it: a key not in the keyring, or an edit. */
function badSignatureDetail(keys: readonly KeyObject[], named: readonly string[]): string {
  const given = new Set(keys.map(keyIdOf));
  const shown = named.slice(0, 4).map((k) => `${k.slice(0, 16).replace(/[^0-9A-Za-z]/g, '?')}…`); // the pack's own text: no control characters to a terminal
  const known = named.filter((k) => given.has(k));
  const which = keys.length === 1 ? 'the given key' : `any of the ${given.size} given keys`;
  if (named.length && !known.length)
    return `signed by keyid ${shown.join(', ')}, which is not ${which}: add its public key (--key, --keyring), or the pack was signed by someone else`;
  return `the signature does not verify with ${which}: the statement was edited after it was signed`;
}

/** reseals.jsonl is JSON lines, not one JSON document: read only when its digest matches the manifest. */
function resealsOf(packDir: string, walk: PackWalk, listed: Map<string, ManifestEntry>): ResealEntry[] {
  const e = walk.files.get(RESEALS);
  const f = listed.get(RESEALS);
  if (!e || !f) return [];
  try {
    if (sha256(readPackFile(packDir, RESEALS, e)) !== f.sha256) return [];
    return parseReseals(packDir, walk).entries;
  } catch {
    return [];
  }
}
