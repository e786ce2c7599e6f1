// The errors Drillbook raises on purpose, each carrying the exit code it means, so the CLI
// decides the exit code in one place (cli/main.ts) and nothing matches message text.
// Exit codes: 0 pass · 1 drill failed · 2 usage or definition error · 3 aborted · 4 environment.
import type { DefinitionIssue } from './define/errors.ts';
import { ExitCode } from './engine/types.ts';

export abstract class DrillbookError extends Error {
  abstract readonly exitCode: ExitCode;
}

/** A bad command line: unknown flag, missing argument, a value that cannot be used. */
export class UsageError extends DrillbookError {
  readonly exitCode = ExitCode.usage;
  override name = 'UsageError';
}

/** The environment cannot be used as asked: a component is missing, down or refuses us. */
export class EnvironmentError extends DrillbookError {
  readonly exitCode = ExitCode.environment;
  override name = 'EnvironmentError';
}

/** The run was stopped on purpose (a stop condition, Ctrl-C). */
export class AbortedError extends DrillbookError {
  readonly exitCode = ExitCode.aborted;
  override name = 'AbortedError';
}

/**
 * The exit code an error carries, or undefined for an unexpected error (a bug: the CLI prints
 * its stack). Checked by shape, not class: the local stage package raises its own
 * EnvironmentError with the same `exitCode` field, and definition files evaluated through tsx
 * may hold other instances of these classes.
 */
export function exitCodeOf(err: unknown): ExitCode | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { exitCode?: unknown }).exitCode;
  return code === ExitCode.fail || code === ExitCode.usage || code === ExitCode.aborted || code === ExitCode.environment ? code : undefined;
}

/**
 * The issues of a definition error, by shape: a definition file evaluated through tsx throws
 * a DefinitionError from its own copy of the define/ modules, which `instanceof` does not see.
 */
export function definitionIssuesOf(err: unknown): DefinitionIssue[] | undefined {
  if (!(err instanceof Error) || err.name !== 'DefinitionError') return undefined;
  const issues = (err as { issues?: unknown }).issues;
  return Array.isArray(issues) ? (issues as DefinitionIssue[]) : undefined;
}
