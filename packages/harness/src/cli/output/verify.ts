// `drill verify --json`: whether the pack verifies, every problem found, and the reseals it records.
import { z } from 'zod';
import type { VerifyResult } from '../../evidence/verify.ts';
import { envelope } from './common.ts';

const FileRef = z.object({ path: z.string(), sha256: z.string() });

export const VerifyOutput = z
  .object({
    ...envelope('verify'),
    pack: z.string(),
    ok: z.boolean(),
    signed: z.boolean(),
    keyid: z.string().nullable().describe('the keyid of the given key that verified the signature'),
    files: z.int().describe('files that match the manifest'),
    problems: z.array(
      z.object({
        kind: z
          .string()
          .describe(
            'missing-file, extra-file, irregular-file, digest-mismatch, bad-signature, unsigned, unverified-signature, subject-mismatch, measure-mismatch, verdict-mismatch or malformed',
          ),
        path: z.string(),
        detail: z.string(),
      }),
    ),
    reseals: z
      .array(
        z.object({
          at: z.string(),
          by: z.string(),
          keyid: z.string(),
          missing: z.array(FileRef),
          changed: z.array(z.object({ path: z.string(), signed: z.string(), now: z.string() })),
          added: z.array(FileRef),
          irregular: z.array(z.object({ path: z.string(), type: z.string() })),
        }),
      )
      .describe('times the pack was signed as found although it no longer verified (--reseal)'),
  })
  .meta({ title: 'drill verify --json' });
export type VerifyOutput = z.infer<typeof VerifyOutput>;

export function verifyOutput(pack: string, r: VerifyResult, exitCode: number): VerifyOutput {
  return {
    schema: 'drillbook.cli.verify/v1',
    command: 'verify',
    exitCode,
    pack,
    ok: r.ok,
    signed: r.signed,
    keyid: r.keyid ?? null,
    files: r.files,
    problems: r.problems.map((p) => ({ kind: p.kind, path: p.path, detail: p.detail })),
    reseals: r.reseals.map((x) => ({
      at: x.at,
      by: x.by,
      keyid: x.keyid,
      missing: x.missing.map((m) => ({ path: m.path, sha256: m.sha256 })),
      changed: x.changed.map((c) => ({ path: c.path, signed: c.signed, now: c.now })),
      added: x.added.map((a) => ({ path: a.path, sha256: a.sha256 })),
      irregular: x.irregular.map((i) => ({ path: i.path, type: i.type })),
    })),
  };
}
