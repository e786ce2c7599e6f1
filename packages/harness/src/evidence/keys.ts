// Keys a team can manage: which private key signs (a file the team names, or the project's own),
// keyrings of public keys that verify (matched by keyid, so a rotated-out key still verifies the
// packs it signed), and rotation. A private key is read from its file and used in this process
// only: never written into a pack, a record, a log or a message (messages name paths and keyids).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { UsageError } from '../errors.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { keygen, keyIdOf } from './sign.ts';

/** The variable naming the private key file a pipeline signs with (`--signing-key` sets it for one command). */
export const SIGNING_KEY_FILE_ENV = 'DRILLBOOK_SIGNING_KEY_FILE';
/** Older: a PEM in the variable itself, or a path to one. */
export const SIGNING_KEY_ENV = 'DRILLBOOK_SIGNING_KEY';
export const PRIVATE_KEY = 'signing.key';
export const PUBLIC_KEY = 'signing.pub';
/** Every public key that ever signed with this key directory's key: the current one and those rotated out. */
export const KEYRING = 'keyring.pub';

export const projectKeyDir = (projectRoot: string): string => join(projectRoot, '.drillbook', 'keys');

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const MAX_KEY_FILE = 1024 * 1024;

function readSmall(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (text.length > MAX_KEY_FILE) throw new UsageError(`${what} ${path}: larger than ${MAX_KEY_FILE} bytes; not a key file`);
  return text;
}

/** An ed25519 private key from a PEM file; a file that is not one is the caller's mistake (exit 2), named by path only. */
export function readPrivateKeyFile(path: string, what = 'signing key'): KeyObject {
  const pem = readSmall(path, what);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new UsageError(`${what} ${path}: not a PEM private key (make one with 'drill keygen')`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new UsageError(`${what} ${path}: a ${key.asymmetricKeyType} key; packs are signed with ed25519 ('drill keygen')`);
  return key;
}

/** Every PEM public key in a keyring's text, in order (text between blocks — comments — is ignored). */
export function parseKeyring(text: string, source: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== 'PUBLIC KEY')
      throw new UsageError(`${source}: holds a ${m[1]} block; a keyring holds public keys only (a private key never leaves its machine)`);
    let key: KeyObject;
    try {
      key = createPublicKey(m[0]);
    } catch (err) {
      throw new UsageError(`${source}: a public key that cannot be read (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${source}: a ${key.asymmetricKeyType} key; packs are signed with ed25519`);
    keys.push(key);
  }
  return keys;
}

/** The public keys of a key file or keyring file (one PEM or several); at least one. */
export function readPublicKeys(path: string, what = 'keyring'): KeyObject[] {
  const keys = parseKeyring(readSmall(path, what), `${what} ${path}`);
  if (keys.length === 0) throw new UsageError(`${what} ${path}: no PEM public key in it`);
  return keys;
}

/** One copy of each key, by keyid, first seen first. */
export function uniqueKeys(keys: readonly KeyObject[]): KeyObject[] {
  const seen = new Map<string, KeyObject>();
  for (const k of keys) if (!seen.has(keyIdOf(k))) seen.set(keyIdOf(k), k);
  return [...seen.values()];
}

/** A keyring's text: each key with a comment line naming its keyid and role, for people reading the file. */
export function keyringText(entries: ReadonlyArray<{ key: KeyObject; note: string }>): string {
  return entries.map(({ key, note }) => `# keyid ${keyIdOf(key)} · ${note}\n${String(key.export({ type: 'spki', format: 'pem' })).trim()}\n`).join('');
}

export interface SigningKey {
  key: KeyObject;
  keyid: string;
  /** Where it came from, for messages: a path or the variable's name, never the key. */
  origin: string;
  /** Public keys trusted to have signed a pack before this key (the keyring beside the key file): sealing accepts their statements. */
  trusted: KeyObject[];
}

function trustedBeside(keyFile: string): KeyObject[] {
  const ring = join(dirname(keyFile), KEYRING);
  return existsSync(ring) ? readPublicKeys(ring) : [];
}

function signingKey(key: KeyObject, origin: string, trusted: KeyObject[]): SigningKey {
  return { key, keyid: keyIdOf(createPublicKey(key)), origin, trusted };
}

/**
 * The key a seal signs with: `--signing-key` / DRILLBOOK_SIGNING_KEY_FILE (a named file must
 * exist: a pipeline never signs with a fresh key by accident), else DRILLBOOK_SIGNING_KEY (PEM
 * or path), else the project's key in .drillbook/keys, made on first use so a local run is always signed.
 */
export function resolveSigningKey(projectRoot: string, note: (line: string) => void, env: NodeJS.ProcessEnv = process.env): SigningKey {
  const file = env[SIGNING_KEY_FILE_ENV];
  if (file) return signingKey(readPrivateKeyFile(file, `${SIGNING_KEY_FILE_ENV} / --signing-key`), file, trustedBeside(file));
  const legacy = env[SIGNING_KEY_ENV];
  if (legacy) {
    if (legacy.includes('BEGIN')) {
      try {
        return signingKey(createPrivateKey(legacy), SIGNING_KEY_ENV, []);
      } catch {
        throw new UsageError(`${SIGNING_KEY_ENV}: not a PEM private key`);
      }
    }
    return signingKey(readPrivateKeyFile(legacy, SIGNING_KEY_ENV), legacy, trustedBeside(legacy));
  }
  const dir = projectKeyDir(projectRoot);
  const path = join(dir, PRIVATE_KEY);
  if (!existsSync(path)) {
    try {
      const made = keygen(dir);
      startKeyring(dir);
      note(`made a signing key for this machine: ${relative(projectRoot, made.publicKeyPath)} verifies its packs (keyid ${made.keyid.slice(0, 16)}…)`);
    } catch (err) {
      if (!existsSync(path)) throw err; // else another run made it a moment ago: use that one
    }
  }
  return signingKey(readPrivateKeyFile(path), path, trustedBeside(path));
}

export interface Rotation {
  privateKeyPath: string;
  publicKeyPath: string;
  keyringPath: string;
  keyid: string;
  retiredKeyid: string;
  /** Keyids in the keyring after the rotation, current first. */
  keyring: string[];
}

/**
 * `drill keygen --rotate`: a new pair replaces the one in `dir`; the old public key stays in the
 * keyring beside it (with every earlier one), so packs it signed still verify and sealing still
 * accepts them. The old private key is gone: a rotated-out key signs nothing more.
 */
export function rotateKey(dir: string, now: Date = new Date()): Rotation {
  const privateKeyPath = join(dir, PRIVATE_KEY);
  const publicKeyPath = join(dir, PUBLIC_KEY);
  const keyringPath = join(dir, KEYRING);
  if (!existsSync(privateKeyPath)) throw new UsageError(`${privateKeyPath}: no key to rotate; make the first with 'drill keygen'`);
  const old = createPublicKey(readPrivateKeyFile(privateKeyPath));
  const earlier = existsSync(keyringPath) ? readPublicKeys(keyringPath) : [];
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const day = now.toISOString().slice(0, 10);
  const ring = [
    { key: publicKey, note: `current since ${day}` },
    ...uniqueKeys([old, ...earlier])
      .filter((k) => keyIdOf(k) !== keyIdOf(publicKey))
      .map((k) => ({ key: k, note: keyIdOf(k) === keyIdOf(old) ? `rotated out ${day}` : 'rotated out earlier' })),
  ];
  // The keyring first: a crash after it leaves the old key signing and both keys trusted, never a key nobody can verify.
  writeFileAtomic(keyringPath, keyringText(ring));
  writeFileAtomic(privateKeyPath, String(privateKey.export({ type: 'pkcs8', format: 'pem' })), 0o600);
  writeFileAtomic(publicKeyPath, String(publicKey.export({ type: 'spki', format: 'pem' })));
  return { privateKeyPath, publicKeyPath, keyringPath, keyid: keyIdOf(publicKey), retiredKeyid: keyIdOf(old), keyring: ring.map((r) => keyIdOf(r.key)) };
}

/** After a first `drill keygen`: a keyring holding the new public key, so a team publishes one file from day one. */
export function startKeyring(dir: string, now: Date = new Date()): string {
  const keyringPath = join(dir, KEYRING);
  const current = readPublicKeys(join(dir, PUBLIC_KEY), 'public key');
  const earlier = existsSync(keyringPath) ? readPublicKeys(keyringPath) : [];
  const entries = uniqueKeys([...current, ...earlier]).map((key, i) => ({
    key,
    note: i === 0 ? `current since ${now.toISOString().slice(0, 10)}` : 'earlier',
  }));
  writeFileAtomic(keyringPath, keyringText(entries));
  return keyringPath;
}
