// `drill stage up|down|status`: the command line is parsed here; the stage package does the work
// and prints what it did.
import { runStageCommand, type StageCommandOptions } from '@drillbook/stage';
import { UsageError } from '../errors.ts';
import type { stageSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

/** A whole number of at least `min` from a flag, or a UsageError naming the flag. */
function wholeNumber(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${flag} takes a whole number of at least ${min}, not '${value}'`);
  return n;
}

export async function stageCommand({ positionals, flags }: Parsed<typeof stageSpec>, io: CliIo): Promise<number> {
  const replicas = wholeNumber('replicas', flags.replicas, 1);
  const restartDelay = wholeNumber('restart-delay', flags['restart-delay'], 0);
  const options: StageCommandOptions = { json: flags.json };
  if (replicas !== undefined) options.replicas = replicas;
  if (restartDelay !== undefined) options.restartDelay = restartDelay;
  if (flags['state-dir'] !== undefined) options.stateDir = flags['state-dir'];
  return runStageCommand(positionals.action, options, io);
}
