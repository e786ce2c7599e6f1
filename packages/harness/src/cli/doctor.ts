// `drill doctor --env <name>`: the checklist of kubernetes/doctor.ts for one environment of the
// project's config, ✓/✗ with the fix for each ✗; exit 4 when anything failed.
import { ExitCode } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
import { formatDoctor, runDoctor } from '../kubernetes/doctor.ts';
import { configuredEnvironment, findProjectRoot, loadConfig } from '../project/loader.ts';
import { anchoredToProject } from '../session/run/prepare.ts';
import type { doctorSpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function doctorCommand({ flags }: Parsed<typeof doctorSpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  const env = anchoredToProject(configuredEnvironment(await loadConfig(root), flags.env), root);
  if (env.kind !== 'kubernetes')
    throw new UsageError(
      `'${flags.env}' is a ${env.kind} environment: drill doctor checks Kubernetes environments; a ${env.kind} one is checked before every run (try 'drill run <drill> --env ${flags.env} --dry-run')`,
    );
  const checks = await runDoctor(env);
  const failed = checks.some((c) => !c.ok);
  if (flags.json) io.out(JSON.stringify({ environment: flags.env, ok: !failed, checks }, null, 2));
  else io.out(formatDoctor(flags.env, checks));
  return failed ? ExitCode.environment : ExitCode.pass;
}
