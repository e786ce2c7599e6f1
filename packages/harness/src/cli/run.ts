// `drill run`: one drill against one environment; the summary on stdout, progress on stderr.
import { parseArgs } from 'node:util';
import { findProjectRoot } from '../define/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { runDrill } from '../session/run-drill.ts';
import { createProgress, type CliIo } from './io.ts';

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        drill: { type: 'string' },
        env: { type: 'string', default: 'local' },
        'dry-run': { type: 'boolean', default: false },
        release: { type: 'string', default: 'local' },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.err(`drill run: ${(err as Error).message}`);
    return ExitCode.usage;
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) {
    io.err('usage: drill run <drill-file> [--drill name] [--env local] [--dry-run] [--release tag] [--json]');
    return ExitCode.usage;
  }
  const progress = createProgress(io);
  const result = await runDrill({
    file,
    ...(parsed.values.drill ? { drillName: parsed.values.drill } : {}),
    environment: parsed.values.env!,
    release: parsed.values.release!,
    dryRun: parsed.values['dry-run']!,
    projectRoot: findProjectRoot(),
    note: (line) => progress.note(line),
    progress: (line) => progress.update(line),
  });
  progress.done();
  if (parsed.values.json) io.out(JSON.stringify({ exitCode: result.exitCode, verdict: result.verdict ?? null, runFile: result.runFile ?? null, runId: result.runId ?? null, summary: result.summary }, null, 2));
  else if (result.exitCode === ExitCode.usage || result.exitCode === ExitCode.environment && !result.verdict) io.err(result.summary);
  else io.out(result.summary);
  return result.exitCode;
}
