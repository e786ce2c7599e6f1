// `drill bake <file>`: a bake against an environment (live telemetry: the bake's load,
// its journeys on schedule, the alert watcher), or on the virtual clock against simulated
// telemetry (`--clock virtual`, for rehearsals and tests). `--resume` continues after a crash.
import { join } from 'node:path';
import { isBakePlan, type BakePlan } from '../define/bake.ts';
import { resolveEnvironment } from '../define/config.ts';
import { parseDuration } from '../define/duration.ts';
import { DefinitionError } from '../define/errors.ts';
import { isJourney } from '../define/journey.ts';
import { isLoadProfile } from '../define/load.ts';
import { findProjectRoot, loadConfig, loadDefinitions } from '../define/loader.ts';
import { RealClock, VirtualClock } from '../engine/clock.ts';
import { MemoryRunLog } from '../engine/run-log.ts';
import { ExitCode, type Clock, type RunEvent } from '../engine/types.ts';
import { EnvironmentError, exitCodeOf } from '../errors.ts';
import { packDir as packDirOf } from '../evidence/layout.ts';
import { runLoad } from '../load/runner.ts';
import { writeReport } from '../evidence/report.ts';
import { withPackLock } from '../evidence/seal.ts';
import { runBake, simulatedTelemetry, type BakeTelemetry, type BakeWindow } from '../session/bake.ts';
import { openEnvironment } from '../session/environment.ts';
import { sealWithProjectKey } from '../session/run-drill.ts';
import { buildLocalRules } from '../session/local-rules.ts';
import { BrowserPool, runJourney, type AnyJourney } from '../synthetics/run-journey.ts';
import { isBrowserJourney } from '../define/browser-journey.ts';
import type { bakeSpec } from './commands.ts';
import { createProgress, type CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

/** Pure: a window's figures from the run log of a live bake. */
export function windowFromLog(events: readonly RunEvent[], from: number, to: number): BakeWindow {
  let requests = 0;
  let errors = 0;
  let p50w = 0;
  let p95w = 0;
  const sev1 = new Set<string>();
  let runs = 0;
  let failed = 0;
  for (const e of events) {
    if (e.t < from || e.t >= to) continue;
    if (e.kind === 'load.sample') {
      requests += e.requests;
      errors += e.failures;
      // Per-second percentiles weighted by their traffic: an approximation of the window's.
      p50w += e.p50Ms * e.requests;
      p95w += e.p95Ms * e.requests;
    } else if (e.kind === 'alert' && e.state === 'firing' && e.labels.severity === 'critical') sev1.add(e.alert);
    else if (e.kind === 'step' && e.name === 'journey') {
      runs++;
      if (!(e.detail as { ok?: boolean } | undefined)?.ok) failed++;
    }
  }
  return { requests, errors, p50Ms: requests ? p50w / requests : null, p95Ms: requests ? p95w / requests : null, sev1: [...sev1], synthetics: { runs, failed } };
}

export async function bakeCommand({ positionals, flags }: Parsed<typeof bakeSpec>, io: CliIo): Promise<number> {
  const file = positionals['bake-file'];
  const root = findProjectRoot();
  const found = (await loadDefinitions(file)).definitions.map((d) => d.value).find(isBakePlan);
  if (!found) throw new DefinitionError(file, [{ path: '(exports)', problem: 'no bake in this file', fix: 'export default defineBake({ … })' }]);
  const { config, file: cfgFile } = await loadConfig(root);
  const env = resolveEnvironment({ ...found.plan, name: found.name, environments: found.environments } as never, flags.env, config, cfgFile ?? 'drillbook.config.ts');
  const evidenceDir = join(root, config.evidenceDir);
  const duration = flags.duration ? parseDuration(flags.duration) : found.duration;
  const checkpoint = flags.checkpoint ? parseDuration(flags.checkpoint) : found.checkpoint;
  if (!duration || !checkpoint || checkpoint > duration) {
    const problem = 'not durations, or the checkpoint is longer than the bake';
    throw new DefinitionError('(command line)', [{ path: '--duration/--checkpoint', problem, fix: 'e.g. --duration 5m --checkpoint 1m' }]);
  }
  const plan: BakePlan = { ...found, duration, checkpoint };
  const packDir = packDirOf(evidenceDir, flags.release);
  const progress = createProgress(io);
  const onCheckpoint = (c: { index: number; gap: boolean; requests: number; errors: number; p95Ms: number | null; sev1: string[] }, total: number) =>
    progress.note(`checkpoint ${c.index + 1}/${total}${c.gap ? ' GAP (harness was down)' : `: ${c.requests} requests, ${c.errors} errors, p95 ${c.p95Ms?.toFixed(0) ?? '—'} ms${c.sev1.length ? `, Sev-1: ${c.sev1.join(', ')}` : ''}`}`);

  let clock: Clock;
  let telemetry: BakeTelemetry;
  let close = async () => {};
  if (flags.clock === 'virtual') {
    clock = new VirtualClock(Date.now());
    const start = clock.now();
    telemetry = simulatedTelemetry({ requestsPerSecond: 50, errorRatio: 0.0002, p50Ms: 20, p95Ms: 80, startedAt: () => start });
    io.err('virtual clock: the bake runs against SIMULATED telemetry (a rehearsal of the checkpoints and verdict, not a measurement)');
  } else {
    clock = new RealClock();
    const stop = new AbortController();
    let rulesDir: string | undefined;
    if (env.kind === 'local') {
      const rules = await buildLocalRules(root, (l) => io.err(l));
      if (!rules.ok) {
        io.err(rules.message);
        return ExitCode.usage;
      }
      rulesDir = rules.rulesDir;
    }
    const open = await openEnvironment(flags.env, env, { projectRoot: root, clock, log: (l) => progress.update(l), ...(rulesDir ? { rulesDir } : {}) });
    const log = new MemoryRunLog();
    open.alerts.start(log);
    // Each load profile runs again whenever it ends, for the whole bake.
    const loops = plan.uses.load.filter(isLoadProfile).map(async (profile) => {
      while (!stop.signal.aborted) await runLoad(profile, { baseUrl: open.targetUrl(profile.target), clock, signal: stop.signal, onSample: (x) => log.append({ ...x, kind: 'load.sample' }) });
    });
    const browsers = new BrowserPool();
    const synth = (async () => {
      while (!stop.signal.aborted) {
        for (const j of plan.uses.journeys.filter((v): v is AnyJourney => isJourney(v) || isBrowserJourney(v))) {
          const r = await runJourney(j, { baseUrl: open.targetUrl(j.target), signal: stop.signal, ...(isBrowserJourney(j) ? { browser: await browsers.get() } : {}) }).catch(() => undefined);
          log.append({ t: clock.now(), kind: 'step', name: 'journey', detail: { journey: j.name, ok: r?.ok ?? false } });
        }
        await clock.sleep(plan.synthetics.every, stop.signal).catch(() => {});
      }
    })();
    telemetry = { source: 'live', collect: async (from, to) => windowFromLog(log.events, from, to) };
    close = async () => {
      stop.abort();
      await Promise.allSettled([...loops, synth]);
      await browsers.close();
      await open.close();
    };
  }
  try {
    const r = await runBake(plan, { packDir, clock, telemetry, resume: flags.resume, onCheckpoint });
    progress.done();
    const { report, sealed } = withPackLock(packDir, () => ({ report: writeReport(packDir), sealed: sealWithProjectKey(root, packDir, (l) => io.err(l)) }));
    io.out(`${plan.name} — ${r.verdict.verdict.toUpperCase()}${r.resumedFrom !== null ? ` (resumed at checkpoint ${r.resumedFrom + 1})` : ''} · ${r.checkpoints.length} checkpoints · ${r.path}`);
    for (const c of r.verdict.checks) io.out(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
    io.out(`evidence: ${packDir} (${sealed}) · report ${report}`);
    return r.verdict.verdict === 'pass' ? ExitCode.pass : ExitCode.fail;
  } catch (err) {
    // An error that carries its code keeps it (an unfinished bake without --resume is a usage
    // error); anything else that stops a running bake is the environment's doing.
    if (exitCodeOf(err) !== undefined) throw err;
    throw new EnvironmentError(`drill bake: ${(err as Error).message}`, { cause: err });
  } finally {
    await close();
  }
}
