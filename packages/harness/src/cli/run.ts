// `drill run`: one drill against one environment; the summary on stdout, progress on stderr.
import { DefinitionError } from '../define/errors.ts';
import { findProjectRoot, resolveDrillArg } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { runDrill } from '../session/run-drill.ts';
import type { runSpec } from './commands.ts';
import { createProgress, type CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function runCommand({ positionals, flags }: Parsed<typeof runSpec>, io: CliIo): Promise<number> {
  const projectRoot = findProjectRoot();
  let target: { file: string; drillName?: string };
  try {
    target = await resolveDrillArg(positionals['drill-file'], projectRoot);
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err;
    if (flags.json) io.out(JSON.stringify({ exitCode: err.exitCode, verdict: null, runFile: null, runId: null, summary: err.message }, null, 2));
    else io.err(err.message);
    return err.exitCode;
  }
  const drillName = flags.drill ?? target.drillName;
  const progress = createProgress(io);
  const result = await runDrill({
    file: target.file,
    ...(drillName ? { drillName } : {}),
    environment: flags.env,
    release: flags.release,
    dryRun: flags['dry-run'],
    reseal: flags.reseal,
    projectRoot,
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
