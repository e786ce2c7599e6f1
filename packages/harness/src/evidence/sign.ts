// Signing a pack: an in-toto Statement v1 over the manifest and every record, in a DSSE
// envelope signed with ed25519 over the DSSE pre-authentication encoding (PAE). Keys come
// from a file or DRILLBOOK_SIGNING_KEY, never from the pack, and are never logged.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import { canonicalJson, sha256 } from './canonical.ts';
import { MANIFEST, STATEMENT } from './layout.ts';
import { updateManifest } from './manifest.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://drillbook.dev/drill-results/v1';
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicateType: typeof PREDICATE_TYPE;
  predicate: Record<string, unknown>;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

/** DSSE v1 PAE: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes as decimal. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function keygen(dir: string): { privateKeyPath: string; publicKeyPath: string; keyid: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPath = join(dir, 'signing.key');
  const publicKeyPath = join(dir, 'signing.pub');
  try {
    // 'wx': created only if absent, atomically — two first runs at once cannot both make a key.
    writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${privateKeyPath} exists: refusing to overwrite a signing key`);
    throw err;
  }
  chmodSync(privateKeyPath, 0o600);
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKeyPath, publicKeyPath, keyid: keyIdOf(publicKey) };
}

/** A PEM in the variable, or a path to one; else the given file. */
export function loadSigningKey(path?: string): KeyObject | undefined {
  const fromEnv = process.env.DRILLBOOK_SIGNING_KEY;
  const pem = fromEnv
    ? fromEnv.includes('BEGIN')
      ? fromEnv
      : readFileSync(fromEnv, 'utf8')
    : path && existsSync(path)
      ? readFileSync(path, 'utf8')
      : undefined;
  return pem ? createPrivateKey(pem) : undefined;
}

export function loadPublicKey(path: string): KeyObject {
  return createPublicKey(readFileSync(path, 'utf8'));
}

export function signStatement(statement: Statement, key: KeyObject): DsseEnvelope {
  const payload = Buffer.from(canonicalJson(statement));
  const sig = edSign(null, pae(PAYLOAD_TYPE, payload), key);
  return {
    payloadType: PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: keyIdOf(createPublicKey(key)), sig: sig.toString('base64') }],
  };
}

/** The keyid of the first of `keys` that signed the envelope (matched by keyid, then verified), else undefined. */
export function envelopeSigner(envelope: DsseEnvelope, keys: readonly KeyObject[]): string | undefined {
  if (envelope.payloadType !== PAYLOAD_TYPE) return undefined;
  const signed = pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  const ok = (key: KeyObject, sig: string) => {
    try {
      return edVerify(null, signed, key, Buffer.from(sig, 'base64'));
    } catch {
      return false; // a malformed signature is a signature that does not verify
    }
  };
  for (const key of keys) {
    const keyid = keyIdOf(key);
    if (envelope.signatures.some((s) => s.keyid === keyid && ok(key, s.sig))) return keyid;
  }
  return undefined;
}

export function verifyEnvelope(envelope: DsseEnvelope, publicKey: KeyObject): boolean {
  return envelopeSigner(envelope, [publicKey]) !== undefined;
}

/**
 * Rewrites the manifest over `files` (default: every file in the pack), then signs a
 * statement naming it and every one of those files by digest.
 */
export function signPack(
  packDir: string,
  key: KeyObject,
  predicate: Record<string, unknown>,
  files?: readonly string[],
): { statementPath: string; keyid: string } {
  const manifest = updateManifest(packDir, files);
  const manifestDigest = sha256(readFileSync(join(packDir, MANIFEST)));
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: MANIFEST, digest: { sha256: manifestDigest } }, ...manifest.files.map((f) => ({ name: f.path, digest: { sha256: f.sha256 } }))],
    predicateType: PREDICATE_TYPE,
    predicate,
  };
  const envelope = signStatement(statement, key);
  const statementPath = join(packDir, STATEMENT);
  writeFileAtomic(statementPath, canonicalJson(envelope));
  return { statementPath, keyid: envelope.signatures[0]!.keyid };
}
