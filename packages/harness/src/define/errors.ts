// The one error type a bad definition produces. It names the file, the field path,
// what was expected and how to fix it, so the CLI can print it and exit 2 before
// anything runs.
import { DrillbookError } from '../errors.ts';
import { ExitCode } from '../engine/types.ts';

export interface DefinitionIssue {
  /** Dotted path to the field, e.g. `phases[1].fault.duration`. */
  path: string;
  /** What was wrong, in words: "expected a duration like '30s', got -5". */
  problem: string;
  /** What to do about it. */
  fix: string;
}

export class DefinitionError extends DrillbookError {
  readonly exitCode = ExitCode.usage;
  readonly file: string | undefined;
  readonly issues: DefinitionIssue[];

  constructor(file: string | undefined, issues: DefinitionIssue[]) {
    super(formatIssues(file, issues));
    this.name = 'DefinitionError';
    this.file = file;
    this.issues = issues;
  }
}

export function formatIssues(file: string | undefined, issues: DefinitionIssue[]): string {
  const where = file ?? '<definition>';
  return issues.map((i) => `${where}: ${i.path || '(root)'}: ${i.problem}\n  fix: ${i.fix}`).join('\n');
}
