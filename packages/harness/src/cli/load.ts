// `drill load <profile-file>`: one load profile on its own, the summary as a table or JSON.
import { parseArgs } from 'node:util';
import { DefinitionError } from '../define/errors.ts';
import { isLoadProfile, type LoadProfile } from '../define/load.ts';
import { loadDefinitions } from '../define/loader.ts';
import { RealClock } from '../engine/clock.ts';
import { ExitCode } from '../engine/types.ts';
import { runLoad } from '../load/runner.ts';
import { renderLoadSummary } from '../load/summary-text.ts';
import { createProgress, type CliIo } from './io.ts';

export async function loadCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { target: { type: 'string' }, profile: { type: 'string' }, json: { type: 'boolean', default: false } } });
  } catch (err) {
    io.err(`drill load: ${(err as Error).message}`);
    return ExitCode.usage;
  }
  const file = parsed.positionals[0];
  if (!file) {
    io.err('usage: drill load <profile-file> --target <base-url> [--profile name] [--json]');
    return ExitCode.usage;
  }
  let profile: LoadProfile | undefined;
  try {
    const loaded = await loadDefinitions(file);
    const profiles = loaded.definitions.map((d) => d.value).filter(isLoadProfile);
    profile = parsed.values.profile ? profiles.find((p) => p.name === parsed.values.profile) : profiles[0];
    if (!profile) throw new DefinitionError(loaded.file, [{ path: '(exports)', problem: 'no load profile found', fix: 'export default defineLoadProfile({ … })' }]);
  } catch (err) {
    if (err instanceof DefinitionError) {
      io.err(err.message);
      return ExitCode.usage;
    }
    throw err;
  }
  if (!parsed.values.target && !profile.request.url) {
    io.err(`drill load: --target <base-url> is needed for a profile whose request is a path (${profile.request.path}); inside a drill the environment gives it`);
    return ExitCode.usage;
  }
  const progress = createProgress(io);
  const summary = await runLoad(profile, {
    baseUrl: parsed.values.target ?? profile.request.url!,
    clock: new RealClock(),
    onSample: (s) => progress.update(`${profile!.name}: ${s.requests} req/s · ${s.failures} failed · p95 ${s.p95Ms.toFixed(1)} ms · ${s.vus} VUs${s.dropped ? ` · ${s.dropped} dropped` : ''}`),
  });
  progress.done();
  io.out(parsed.values.json ? JSON.stringify(summary, null, 2) : renderLoadSummary(profile.name, summary));
  return summary.thresholdsOk ? ExitCode.pass : ExitCode.fail;
}
