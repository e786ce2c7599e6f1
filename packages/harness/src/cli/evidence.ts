// `drill keygen` and `drill verify`.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { findProjectRoot } from '../define/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { keygen, loadPublicKey } from '../evidence/sign.ts';
import { verifyPack } from '../evidence/verify.ts';
import type { CliIo } from './io.ts';

export const defaultKeyDir = (root: string) => join(root, '.drillbook', 'keys');

export async function keygenCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
  const dir = values.out ?? defaultKeyDir(findProjectRoot());
  try {
    const k = keygen(dir);
    io.out(`ed25519 key pair written\n  private: ${k.privateKeyPath} (mode 0600; keep it out of the pack and out of git)\n  public:  ${k.publicKeyPath} (give it to reviewers: drill verify <pack> --key ${k.publicKeyPath})\n  keyid:   ${k.keyid}`);
    return ExitCode.pass;
  } catch (err) {
    io.err(`drill keygen: ${(err as Error).message}`);
    return ExitCode.usage;
  }
}

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { key: { type: 'string' }, 'allow-unsigned': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  } catch (err) {
    io.err(`drill verify: ${(err as Error).message}`);
    return ExitCode.usage;
  }
  const pack = parsed.positionals[0];
  if (!pack) {
    io.err('usage: drill verify <pack-dir> [--key public.pem] [--allow-unsigned] [--json]');
    return ExitCode.usage;
  }
  const result = verifyPack(pack, { ...(parsed.values.key ? { publicKey: loadPublicKey(parsed.values.key) } : {}), allowUnsigned: parsed.values['allow-unsigned']! });
  if (parsed.values.json) io.out(JSON.stringify(result, null, 2));
  else if (result.ok) io.out(`OK ${pack}: ${result.files} files match the manifest, ${result.signed ? 'the signature verifies' : 'UNSIGNED (allowed by --allow-unsigned)'}, every figure re-derives from its raw events`);
  else {
    io.out(`NOT OK ${pack}: ${result.problems.length} problem(s)`);
    for (const p of result.problems) io.out(`  ${p.kind.padEnd(22)} ${p.path}: ${p.detail}`);
  }
  return result.ok ? ExitCode.pass : ExitCode.fail;
}
