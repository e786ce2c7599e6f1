// `drill keygen` and `drill verify`.
import { join } from 'node:path';
import { findProjectRoot } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { readPublicKeys, rotateKey, startKeyring } from '../evidence/keys.ts';
import { keygen } from '../evidence/sign.ts';
import { verifyPack } from '../evidence/verify.ts';
import type { keygenSpec, verifySpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export const defaultKeyDir = (root: string) => join(root, '.drillbook', 'keys');

export async function keygenCommand({ flags }: Parsed<typeof keygenSpec>, io: CliIo): Promise<number> {
  const dir = flags.out ?? defaultKeyDir(findProjectRoot());
  try {
    if (flags.rotate) {
      const r = rotateKey(dir);
      io.out(
        [
          'ed25519 key pair rotated',
          `  private: ${r.privateKeyPath} (new; mode 0600; the old private key is gone: it signs nothing more)`,
          `  public:  ${r.publicKeyPath}`,
          `  keyid:   ${r.keyid} (was ${r.retiredKeyid})`,
          `  keyring: ${r.keyringPath} (${r.keyring.length} keys; give it to reviewers: drill verify <pack> --keyring ${r.keyringPath})`,
        ].join('\n'),
      );
      return ExitCode.pass;
    }
    const k = keygen(dir);
    const ring = startKeyring(dir);
    io.out(
      [
        'ed25519 key pair written',
        `  private: ${k.privateKeyPath} (mode 0600; keep it out of the pack and out of git)`,
        `  public:  ${k.publicKeyPath} (give it to reviewers: drill verify <pack> --key ${k.publicKeyPath})`,
        `  keyid:   ${k.keyid}`,
        `  keyring: ${ring} (every public key this directory signed with; drill keygen --rotate keeps old ones there)`,
      ].join('\n'),
    );
    return ExitCode.pass;
  } catch (err) {
    io.err(`drill keygen: ${(err as Error).message}`);
    return ExitCode.usage;
  }
}

export async function verifyCommand({ positionals, flags }: Parsed<typeof verifySpec>, io: CliIo): Promise<number> {
  const pack = positionals['pack-dir'];
  // A key file that cannot be read or parsed is the caller's mistake: readPublicKeys raises a UsageError (exit 2) naming it.
  const keyring = [...flags.key.flatMap((f) => readPublicKeys(f, '--key')), ...(flags.keyring ? readPublicKeys(flags.keyring, '--keyring') : [])];
  const result = verifyPack(pack, { keyring, allowUnsigned: flags['allow-unsigned'] });
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
  if (flags.json) io.out(JSON.stringify((await import('./output/verify.ts')).verifyOutput(pack, result, result.ok ? ExitCode.pass : ExitCode.fail), null, 2));
  else if (result.ok)
    io.out(
      `OK ${pack}: ${result.files} files match the manifest, ${result.signed ? `the signature verifies (keyid ${result.keyid?.slice(0, 16)}…)` : 'UNSIGNED (allowed by --allow-unsigned)'}, every figure re-derives from its raw events`,
    );
  else {
    io.out(`NOT OK ${pack}: ${result.problems.length} problem(s)`);
    for (const p of result.problems) io.out(`  ${p.kind.padEnd(22)} ${p.path}: ${p.detail}`);
  }
  return result.ok ? ExitCode.pass : ExitCode.fail;
}
