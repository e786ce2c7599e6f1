// `drill run`: one drill against one environment; the summary on stdout, progress on stderr.
import { DefinitionError } from '../define/errors.ts';
import { findProjectRoot, resolveDrillArg } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
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
    if (flags.json && !flags.output) io.out((await import('./output/run.ts')).printRunError(err.exitCode, err.message, flags['dry-run']));
    else io.err(err.message);
    return err.exitCode;
  }
  const drillName = flags.drill ?? target.drillName;
  if (flags.output && !flags['dry-run']) throw new UsageError(`-o ${flags.output} prints the Kubernetes objects of a dry run: add --dry-run`);
  if (flags['dry-run'] && (flags.json || flags.output)) {
    // The plan as data, or the Chaos Mesh objects alone: output/run-command.ts.
    const { dryRunDocument } = await import('./output/run-command.ts');
    const doc = await dryRunDocument({ file: target.file, ...(drillName ? { drillName } : {}), environment: flags.env, projectRoot }, flags.output);
    if (doc.stderr) io.err(doc.stderr);
    if (doc.stdout) io.out(doc.stdout);
    return doc.exitCode;
  }
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
  if (flags.json) io.out(JSON.stringify((await import('./output/run-command.ts')).runDocument(result, flags.reseal), null, 2));
  else if (result.exitCode === ExitCode.usage || (result.exitCode === ExitCode.environment && !result.verdict)) io.err(result.summary);
  else io.out(result.summary);
  return result.exitCode;
}
