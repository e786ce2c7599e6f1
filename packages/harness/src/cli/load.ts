// `drill load <profile-file>`: one load profile on its own, the summary as a table or JSON.
import { DefinitionError } from '../define/errors.ts';
import { isLoadProfile, type LoadProfile } from '../define/load.ts';
import { loadDefinitions } from '../project/loader.ts';
import { RealClock } from '../engine/clock.ts';
import { ExitCode } from '../engine/types.ts';
import { UsageError } from '../errors.ts';
import { runLoad } from '../load/runner.ts';
import { renderLoadSummary } from '../load/summary-text.ts';
import type { loadSpec } from './commands.ts';
import { createProgress, type CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function loadCommand({ positionals, flags }: Parsed<typeof loadSpec>, io: CliIo): Promise<number> {
  const loaded = await loadDefinitions(positionals['profile-file']);
  const profiles = loaded.definitions.map((d) => d.value).filter(isLoadProfile);
  const profile: LoadProfile | undefined = flags.profile ? profiles.find((p) => p.name === flags.profile) : profiles[0];
  if (!profile) {
    const fix = flags.profile ? `name one of: ${profiles.map((p) => p.name).join(', ') || '(none)'}` : 'export default defineLoadProfile({ … })';
    throw new DefinitionError(loaded.file, [{ path: '(exports)', problem: `no load profile${flags.profile ? ` named '${flags.profile}'` : ''} found`, fix }]);
  }
  if (!flags.target && !profile.request.url) {
    const why = `its request is a path (${profile.request.path}); inside a drill the environment gives the base URL`;
    throw new UsageError(`--target <base-url> is needed for profile ${profile.name}: ${why}`);
  }
  const workers = flags.workers === undefined ? undefined : Number(flags.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 64))
    throw new UsageError(`--workers must be a whole number from 1 to 64, not '${flags.workers}'`);
  const progress = createProgress(io);
  const summary = await runLoad(profile, {
    baseUrl: flags.target ?? profile.request.url!,
    clock: new RealClock(),
    ...(workers !== undefined ? { workers } : {}),
    onSample: (s) =>
      progress.update(
        `${profile.name}: ${s.requests} req/s · ${s.failures} failed · p95 ${s.p95Ms.toFixed(1)} ms · ${s.vus} VUs${s.dropped ? ` · ${s.dropped} dropped` : ''}`,
      ),
  });
  progress.done();
  const exitCode = summary.thresholdsOk ? ExitCode.pass : ExitCode.fail;
  if (flags.json)
    io.out(JSON.stringify((await import('./output/load.ts')).loadOutput(profile.name, flags.target ?? profile.request.url!, summary, exitCode), null, 2));
  else io.out(renderLoadSummary(profile.name, summary));
  return exitCode;
}
