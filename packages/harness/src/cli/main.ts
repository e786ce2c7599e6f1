// `drill`: the one command for drills, the stage, load, builds and evidence. Commands are
// declared in commands.ts; here they are parsed, helped and run, and every error becomes an
// exit code in one place: an error that carries its code (errors.ts) prints its message; any
// other error is a bug in Drillbook and prints its stack.
import { ExitCode } from '../engine/types.ts';
import { exitCodeOf, UsageError } from '../errors.ts';
import { commands, type Command } from './commands.ts';
import { processIo, type CliIo } from './io.ts';
import { commandHelp, usageLine, wantsHelp } from './spec.ts';
import { maxOf } from '../util/arrays.ts';

export const EXIT_CODES = [
  'exit codes: 0 pass · 1 drill failed (or an internal error: a bug in Drillbook, printed with its stack)',
  ' · 2 usage or definition error · 3 aborted · 4 environment error',
].join('');

export function usage(): string {
  const width = maxOf(commands.map((c) => c.spec.name.length));
  const lines = commands.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`);
  return ['usage: drill <command> [flags]   (drill <command> --help for its flags)', '', 'commands:', ...lines, '', EXIT_CODES].join('\n');
}

const find = (name: string): Command | undefined => commands.find((c) => c.spec.name === name);

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(usage());
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' && rest[0] !== undefined ? find(rest[0]) : undefined;
    if (name === 'help' && rest[0] !== undefined && !topic) return unknownCommand(rest[0], io);
    io.out(topic ? commandHelp(topic.spec) : usage());
    return ExitCode.pass;
  }
  const command = find(name);
  if (!command) return unknownCommand(name, io);
  if (wantsHelp(rest)) {
    io.out(commandHelp(command.spec));
    return ExitCode.pass;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    return reportError(err, command, io);
  }
}

function unknownCommand(name: string, io: CliIo): number {
  io.err(`drill: unknown command '${name}'\n\n${usage()}`);
  return ExitCode.usage;
}

/** The one place an error becomes an exit code. */
export function reportError(err: unknown, command: Command, io: CliIo): number {
  const name = command.spec.name;
  if (err instanceof UsageError) {
    io.err(`drill ${name}: ${err.message}\n${usageLine(command.spec)}\n(drill ${name} --help lists every flag)`);
    return err.exitCode;
  }
  const code = exitCodeOf(err);
  if (code !== undefined) {
    io.err((err as Error).message);
    return code;
  }
  const trace = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.err(`drill ${name}: internal error — this is a bug in Drillbook; please report it with this trace:\n${trace}`);
  return ExitCode.fail;
}
