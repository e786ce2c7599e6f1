// Per-stage secrets and the private files that hold them: every listener of the stage
// authenticates with a random credential made here, and the files naming those credentials
// are 0600 in 0700 directories so no other local user can read them.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import bcrypt from 'bcryptjs';

export interface BasicAuth {
  username: string;
  password: string;
}

/** base64url: no '@', '/' or ':' to break a URL's userinfo or a redaction pattern. */
export const randomSecret = (bytes = 24): string => randomBytes(bytes).toString('base64url');

export const basicAuthHeader = (a: BasicAuth): string => `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;

/** Constant-time comparison of a presented secret with the expected one. */
export function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Prometheus/Alertmanager `--web.config.file` content. Cost 4 (bcrypt's minimum): the
 * passwords are 192 random bits, so a slow hash adds no strength, only a per-request cost.
 */
export function webConfig(users: BasicAuth[]): object {
  return { basic_auth_users: Object.fromEntries(users.map((u) => [u.username, bcrypt.hashSync(u.password, 4)])) };
}

/** mkdir -p, then 0700 on the leaf (mkdir's mode is masked by umask and ignored when it exists). */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

/** Writes a file readable by its owner only: created 0600 under a temp name, then renamed in place. */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomSecret(6)}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600); // openSync's mode is masked by umask; 0600 must hold whatever the umask
  renameSync(tmp, path);
}
