// `drill keygen` and `drill verify`.
import { join } from 'node:path';
import { findProjectRoot } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { keygen, loadPublicKey } from '../evidence/sign.ts';
import { verifyPack } from '../evidence/verify.ts';
import { UsageError } from '../errors.ts';
import type { keygenSpec, verifySpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export const defaultKeyDir = (root: string) => join(root, '.drillbook', 'keys');

export async function keygenCommand({ flags }: Parsed<typeof keygenSpec>, io: CliIo): Promise<number> {
  const dir = flags.out ?? defaultKeyDir(findProjectRoot());
  try {
    const k = keygen(dir);
    io.out(
      `ed25519 key pair written\n  private: ${k.privateKeyPath} (mode 0600; keep it out of the pack and out of git)\n  public:  ${k.publicKeyPath} (give it to reviewers: drill verify <pack> --key ${k.publicKeyPath})\n  keyid:   ${k.keyid}`,
    );
    return ExitCode.pass;
  } catch (err) {
    io.err(`drill keygen: ${(err as Error).message}`);
    return ExitCode.usage;
  }
}

export async function verifyCommand({ positionals, flags }: Parsed<typeof verifySpec>, io: CliIo): Promise<number> {
  const pack = positionals['pack-dir'];
  const result = verifyPack(pack, { ...(flags.key ? { publicKey: readKey(flags.key) } : {}), allowUnsigned: flags['allow-unsigned'] });
  if (!flags.json)
    for (const r of result.reseals) {
      const what = [
        ...r.missing.map((m) => `${m.path} missing`),
        ...r.changed.map((c) => `${c.path} changed`),
        ...r.added.map((a) => `${a.path} added`),
        ...r.irregular.map((x) => `${x.path} (${x.type})`),
      ];
      io.err(`warn: this pack was re-signed as found on ${r.at} by ${r.by} (key ${r.keyid.slice(0, 16)}…): ${what.join(', ') || 'no difference recorded'}`);
    }
  if (flags.json) io.out(JSON.stringify(result, null, 2));
  else if (result.ok)
    io.out(
      `OK ${pack}: ${result.files} files match the manifest, ${result.signed ? 'the signature verifies' : 'UNSIGNED (allowed by --allow-unsigned)'}, every figure re-derives from its raw events`,
    );
  else {
    io.out(`NOT OK ${pack}: ${result.problems.length} problem(s)`);
    for (const p of result.problems) io.out(`  ${p.kind.padEnd(22)} ${p.path}: ${p.detail}`);
  }
  return result.ok ? ExitCode.pass : ExitCode.fail;
}

/** A key file that cannot be read or parsed is the caller's mistake, not a bug: exit 2 naming it. */
function readKey(file: string): ReturnType<typeof loadPublicKey> {
  try {
    return loadPublicKey(file);
  } catch (err) {
    throw new UsageError(`--key ${file}: ${(err as Error).message}`);
  }
}
