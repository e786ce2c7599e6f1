// The `drill` command run in this process with its output captured: what a user would see,
// without the cost of a child process per call.
import { main } from '../../src/cli/main.ts';
import type { CliIo } from '../../src/cli/io.ts';

export async function drill(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTty: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
