// Reading a pack's signed statement for verify and for sealing: every field checked before
// use, the signature checked against a given public key, and the signed digests returned.
import type { KeyObject } from 'node:crypto';
import { STATEMENT } from './layout.ts';
import { readPackFile, type PackWalk } from './pack-fs.ts';
import { envelopeProblem, statementProblem } from './shapes.ts';
import { PREDICATE_TYPE, STATEMENT_TYPE, envelopeSigner, type DsseEnvelope, type Statement } from './sign.ts';

export interface StatementRead {
  /** A statement file exists (regular or not). */
  present: boolean;
  statement?: Statement;
  /** 'ok' or 'bad' when a key was given and the envelope was well formed. */
  signature: 'ok' | 'bad' | 'unchecked';
  /** The keyid of the given key that verified the signature. */
  signedBy?: string;
  /** The keyids the envelope's signatures name (well-formed envelopes only), for messages. */
  keyids?: string[];
  /** Malformed or irregular statement, as "detail" lines (the path is always STATEMENT). */
  problems: string[];
}

function parseJson(buf: Buffer): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(buf.toString('utf8')) as unknown };
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})` };
  }
}

/** `keys`: one public key, or a keyring (any of its keys may have signed, matched by keyid). */
export function readStatement(packDir: string, walk: PackWalk, keys?: KeyObject | readonly KeyObject[]): StatementRead {
  const ring = keys === undefined ? [] : Array.isArray(keys) ? (keys as readonly KeyObject[]) : [keys as KeyObject];
  const irregular = walk.irregular.find((e) => e.path === STATEMENT);
  if (irregular) return { present: true, signature: 'unchecked', problems: [`${irregular.type}, not a regular file: never read`] };
  const entry = walk.files.get(STATEMENT);
  if (!entry) return { present: false, signature: 'unchecked', problems: [] };
  let text: Buffer;
  try {
    text = readPackFile(packDir, STATEMENT, entry, 64 * 1024 * 1024);
  } catch (err) {
    return { present: true, signature: 'unchecked', problems: [(err as Error).message] };
  }
  const parsed = parseJson(text);
  if ('error' in parsed) return { present: true, signature: 'unchecked', problems: [`the envelope is ${parsed.error}`] };
  const bad = envelopeProblem(parsed.value);
  if (bad) return { present: true, signature: 'unchecked', problems: [`envelope ${bad}`] };
  const envelope = parsed.value as DsseEnvelope;
  const signedBy = ring.length ? envelopeSigner(envelope, ring) : undefined;
  const signature = ring.length ? (signedBy ? 'ok' : 'bad') : 'unchecked';
  const seen = { keyids: envelope.signatures.map((s) => s.keyid), ...(signedBy ? { signedBy } : {}) };
  const payload = parseJson(Buffer.from(envelope.payload, 'base64'));
  if ('error' in payload) return { present: true, signature, ...seen, problems: [`the payload is ${payload.error}`] };
  const badStatement = statementProblem(payload.value);
  if (badStatement) return { present: true, signature, ...seen, problems: [badStatement] };
  const statement = payload.value as Statement;
  const ours = statement._type === STATEMENT_TYPE && statement.predicateType === PREDICATE_TYPE;
  const problems = ours ? [] : ['not a drillbook in-toto statement (_type or predicateType)'];
  return { present: true, statement, signature, ...seen, problems };
}

/** The signed digest of each subject (the manifest included), by pack path. */
export function signedDigests(statement: Statement): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of statement.subject) out.set(s.name, s.digest.sha256);
  return out;
}
