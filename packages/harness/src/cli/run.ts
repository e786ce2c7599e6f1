// `drill run`: one drill against one environment; the summary on stdout, progress on stderr.
import { findProjectRoot } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { runDrill } from '../session/run-drill.ts';
import type { runSpec } from './commands.ts';
import { createProgress, type CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function runCommand({ positionals, flags }: Parsed<typeof runSpec>, io: CliIo): Promise<number> {
  const progress = createProgress(io);
  const result = await runDrill({
    file: positionals['drill-file'],
    ...(flags.drill ? { drillName: flags.drill } : {}),
    environment: flags.env,
    release: flags.release,
    dryRun: flags['dry-run'],
    reseal: flags.reseal,
    projectRoot: findProjectRoot(),
    note: (line) => progress.note(line),
    progress: (line) => progress.update(line),
  });
  progress.done();
  if (flags.json)
    io.out(
      JSON.stringify(
        { exitCode: result.exitCode, verdict: result.verdict ?? null, runFile: result.runFile ?? null, runId: result.runId ?? null, summary: result.summary },
        null,
        2,
      ),
    );
  else if (result.exitCode === ExitCode.usage || (result.exitCode === ExitCode.environment && !result.verdict)) io.err(result.summary);
  else io.out(result.summary);
  return result.exitCode;
}
