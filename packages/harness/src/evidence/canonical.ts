// Canonical JSON (RFC 8785, JCS) for everything the pack digests, so the same content
// always has the same bytes and the same sha256, whoever wrote it.
import canonicalizeModule from 'canonicalize';
import { createHash } from 'node:crypto';

const canonicalizeFn = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const out = canonicalizeFn(value);
  if (out === undefined) throw new Error('value cannot be serialised as JSON');
  return out;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
