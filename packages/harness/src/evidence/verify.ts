// `drill verify`: a pack is trusted only when every file matches the manifest, the
// manifest and records match the signed statement, the signature verifies with a key
// the reviewer holds, and every figure follows again from the raw data in the pack.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { sha256 } from './canonical.ts';
import { MANIFEST, STATEMENT, bakePaths, isBakeRecordPath } from './layout.ts';
import { listPackFiles, type Manifest } from './manifest.ts';
import { rederiveBakeRecord, rederiveRunRecord, type Difference } from './rederive.ts';
import { BAKE_RECORD_SCHEMA, type BakeRecord, type Checkpoint } from '../measure/bake.ts';
import type { StoredSpan } from '../observe/trace-store.ts';
import { RUN_RECORD_SCHEMA, type RunRecord } from './run-record.ts';
import { PREDICATE_TYPE, STATEMENT_TYPE, verifyEnvelope, type DsseEnvelope, type Statement } from './sign.ts';

export type ProblemKind = 'missing-file' | 'extra-file' | 'digest-mismatch' | 'bad-signature' | 'unsigned' | 'unverified-signature' | 'subject-mismatch' | 'measure-mismatch' | 'verdict-mismatch' | 'malformed';

export interface Problem {
  kind: ProblemKind;
  path: string;
  detail: string;
}

export interface VerifyOptions {
  publicKey?: KeyObject;
  /** Accept a pack with no statement (a local run without a key): still checks digests and figures. */
  allowUnsigned?: boolean;
  rederive?: (record: RunRecord, spans?: readonly StoredSpan[]) => Difference[];
}

function readJson<T>(path: string, problems: Problem[], name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    problems.push({ kind: 'malformed', path: name, detail: (err as Error).message });
    return undefined;
  }
}

export function verifyPack(packDir: string, options: VerifyOptions = {}): { ok: boolean; problems: Problem[]; files: number; signed: boolean } {
  const problems: Problem[] = [];
  const rederive = options.rederive ?? rederiveRunRecord;
  if (!existsSync(join(packDir, MANIFEST))) return { ok: false, problems: [{ kind: 'missing-file', path: MANIFEST, detail: 'no manifest: this is not an evidence pack, or it was never finished' }], files: 0, signed: false };
  const manifest = readJson<Manifest>(join(packDir, MANIFEST), problems, MANIFEST);
  if (!manifest) return { ok: false, problems, files: 0, signed: false };

  // Files against the manifest.
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const present = new Set(listPackFiles(packDir));
  for (const f of manifest.files) {
    if (!present.has(f.path)) problems.push({ kind: 'missing-file', path: f.path, detail: 'listed in the manifest, not in the pack' });
    else {
      const actual = sha256(readFileSync(join(packDir, f.path)));
      if (actual !== f.sha256) problems.push({ kind: 'digest-mismatch', path: f.path, detail: `sha256 ${actual.slice(0, 12)}…, manifest says ${f.sha256.slice(0, 12)}…` });
    }
  }
  for (const p of present) if (!listed.has(p)) problems.push({ kind: 'extra-file', path: p, detail: 'in the pack, not in the manifest' });

  // The signed statement.
  const statementPath = join(packDir, STATEMENT);
  if (!existsSync(statementPath)) {
    if (!options.allowUnsigned) problems.push({ kind: 'unsigned', path: STATEMENT, detail: 'the pack is not signed' });
  } else {
    const envelope = readJson<DsseEnvelope>(statementPath, problems, STATEMENT);
    if (envelope) {
      if (!options.publicKey) problems.push({ kind: 'unverified-signature', path: STATEMENT, detail: 'no public key given (--key): a pack cannot vouch for itself' });
      else if (!verifyEnvelope(envelope, options.publicKey)) problems.push({ kind: 'bad-signature', path: STATEMENT, detail: 'the signature does not verify with the given key' });
      let statement: Statement | undefined;
      try {
        statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Statement;
      } catch {
        problems.push({ kind: 'malformed', path: STATEMENT, detail: 'the payload is not JSON' });
      }
      if (statement) {
        if (statement._type !== STATEMENT_TYPE || statement.predicateType !== PREDICATE_TYPE) problems.push({ kind: 'malformed', path: STATEMENT, detail: 'not a drillbook in-toto statement' });
        const manifestDigest = sha256(readFileSync(join(packDir, MANIFEST)));
        const subjects = new Map(statement.subject.map((s) => [s.name, s.digest.sha256]));
        if (subjects.get(MANIFEST) !== manifestDigest) problems.push({ kind: 'subject-mismatch', path: MANIFEST, detail: 'the manifest is not the one that was signed' });
        for (const f of manifest.files) if (subjects.get(f.path) !== f.sha256) problems.push({ kind: 'subject-mismatch', path: f.path, detail: subjects.has(f.path) ? 'digest differs from the signed one' : 'not in the signed statement' });
        for (const name of subjects.keys()) if (name !== MANIFEST && !listed.has(name)) problems.push({ kind: 'subject-mismatch', path: name, detail: 'signed, but no longer in the manifest' });
      }
    }
  }

  // Every figure again from the raw data.
  for (const f of manifest.files.filter((x) => x.path.startsWith('chaos-dr/') && present.has(x.path))) {
    const record = readJson<RunRecord>(join(packDir, f.path), problems, f.path);
    if (!record) continue;
    if (record.schema !== RUN_RECORD_SCHEMA) {
      problems.push({ kind: 'malformed', path: f.path, detail: `schema ${String(record.schema)}, expected ${RUN_RECORD_SCHEMA}` });
      continue;
    }
    const spansFile = join(packDir, 'traces', `${record.runId}.spans.json`);
    const spans = existsSync(spansFile) ? (JSON.parse(readFileSync(spansFile, 'utf8')) as { spans: StoredSpan[] }).spans : undefined;
    for (const d of rederive(record, spans))
      problems.push({ kind: d.what === 'verdict' ? 'verdict-mismatch' : 'measure-mismatch', path: f.path, detail: `${d.what}: recorded ${JSON.stringify(d.recorded)}, derived from the raw events ${JSON.stringify(d.derived)}` });
  }
  for (const f of manifest.files.filter((x) => isBakeRecordPath(x.path) && present.has(x.path))) {
    const bake = readJson<BakeRecord>(join(packDir, f.path), problems, f.path);
    if (!bake) continue;
    if (bake.schema !== BAKE_RECORD_SCHEMA || !bake.criteria) {
      problems.push({ kind: 'malformed', path: f.path, detail: `schema ${String(bake.schema)}${bake.criteria ? '' : ' without criteria'}, expected ${BAKE_RECORD_SCHEMA}` });
      continue;
    }
    const paths = bakePaths(packDir, bake.bake);
    const checkpointFile = (i: number) => {
      const p = paths.checkpoint(bake.startedAt, i);
      return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Checkpoint) : undefined;
    };
    for (const d of rederiveBakeRecord(bake, checkpointFile))
      problems.push({ kind: d.what === 'verdict' ? 'verdict-mismatch' : 'measure-mismatch', path: f.path, detail: `${d.what}: recorded ${JSON.stringify(d.recorded)}, derived from the checkpoints ${JSON.stringify(d.derived)}` });
  }
  return { ok: problems.length === 0, problems, files: manifest.files.length, signed: existsSync(statementPath) };
}
