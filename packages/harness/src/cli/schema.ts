// `drill schema <command>`: the JSON Schema of that command's `--json` document, so a pipeline can
// validate what it reads (docs/json-output.md describes the fields).
import { ExitCode } from '../engine/types.ts';
import type { schemaSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import { jsonSchemaOf, printJson } from './output/index.ts';
import type { Parsed } from './spec.ts';

export async function schemaCommand({ positionals }: Parsed<typeof schemaSpec>, io: CliIo): Promise<number> {
  io.out(printJson(jsonSchemaOf(positionals.command)));
  return ExitCode.pass;
}
