// Every command's `--json` document by command name, and its JSON Schema. `drill schema <command>`
// prints these; the tests validate each command's real output against them.
import { z } from 'zod';
import { BakeOutput } from './bake.ts';
import { HistoryOutput } from './history.ts';
import { LoadOutput } from './load.ts';
import { ReviewOutput } from './review.ts';
import { RunOutput } from './run.ts';
import { SynthOutput } from './synth.ts';
import { VerifyOutput } from './verify.ts';

/** The commands with a `--json` document (commands.ts lists the same names for `drill schema`). */
export const JSON_OUTPUTS = {
  run: RunOutput,
  bake: BakeOutput,
  load: LoadOutput,
  synth: SynthOutput,
  verify: VerifyOutput,
  review: ReviewOutput,
  history: HistoryOutput,
} as const;
export type JsonCommand = keyof typeof JSON_OUTPUTS;

/** The JSON Schema (draft 2020-12) of a command's `--json` document, as it is printed. */
export function jsonSchemaOf(command: JsonCommand): Record<string, unknown> {
  return z.toJSONSchema(JSON_OUTPUTS[command], { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>;
}

/** One document on stdout: pretty-printed, so a person can read it and `jq` can too. */
export const printJson = (doc: unknown): string => JSON.stringify(doc, null, 2);
