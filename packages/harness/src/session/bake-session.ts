// One bake from start to end, as `drill bake` and tests run it: load the bake, open the
// environment (live: the bake's load on repeat, its journeys on schedule, the alert watcher)
// or rehearse on the virtual clock against simulated telemetry, run the checkpoints, then
// write the report and seal the pack under its lock.
import { join } from 'node:path';
import { isBakePlan, type BakePlan } from '../define/bake.ts';
import { isBrowserJourney } from '../define/browser-journey.ts';
import { resolveEnvironment } from '../define/config.ts';
import { parseDuration } from '../define/duration.ts';
import { DefinitionError } from '../define/errors.ts';
import { isJourney } from '../define/journey.ts';
import { isLoadProfile } from '../define/load.ts';
import { loadConfig, loadDefinitions } from '../project/loader.ts';
import { RealClock, VirtualClock } from '../engine/clock.ts';
import { MemoryRunLog } from '../engine/run-log.ts';
import type { Clock } from '../engine/types.ts';
import { EnvironmentError, exitCodeOf } from '../errors.ts';
import { packDir as packDirOf } from '../evidence/layout.ts';
import { writeReport } from '../evidence/report.ts';
import { withPackLock } from '../evidence/seal.ts';
import { runLoad } from '../load/runner.ts';
import { windowFromLog } from '../measure/bake.ts';
import { BrowserPool, runJourney, type AnyJourney } from '../synthetics/run-journey.ts';
import { runBake, simulatedTelemetry, type BakeResult, type BakeTelemetry, type Checkpoint } from './bake.ts';
import { openEnvironment } from './environment.ts';
import { anchoredToProject } from './run/prepare.ts';
import { buildLocalRules } from './local-rules.ts';
import { sealWithProjectKey } from './run/evidence.ts';

export interface BakeSessionOptions {
  file: string;
  projectRoot: string;
  environment: string;
  release: string;
  clock: 'real' | 'virtual';
  resume?: boolean;
  /** Overrides of the bake's own duration and checkpoint interval ('5m', '1m'). */
  duration?: string | undefined;
  checkpoint?: string | undefined;
  reseal?: boolean;
  note: (line: string) => void;
  progress?: (line: string) => void;
  onCheckpoint?: (c: Checkpoint, total: number) => void;
}

export interface BakeSessionResult {
  plan: BakePlan;
  result: BakeResult;
  packDir: string;
  report: string;
  sealed: string;
}

async function loadBake(opts: BakeSessionOptions): Promise<{ plan: BakePlan; envConfig: ReturnType<typeof resolveEnvironment>; evidenceDir: string }> {
  const found = (await loadDefinitions(opts.file)).definitions.map((d) => d.value).find(isBakePlan);
  if (!found) throw new DefinitionError(opts.file, [{ path: '(exports)', problem: 'no bake in this file', fix: 'export default defineBake({ … })' }]);
  const { config, file: cfgFile } = await loadConfig(opts.projectRoot);
  const envConfig = anchoredToProject(
    resolveEnvironment(
      { ...found.plan, name: found.name, environments: found.environments } as never,
      opts.environment,
      config,
      cfgFile ?? 'drillbook.config.ts',
    ),
    opts.projectRoot,
  );
  const duration = opts.duration ? parseDuration(opts.duration) : found.duration;
  const checkpoint = opts.checkpoint ? parseDuration(opts.checkpoint) : found.checkpoint;
  if (!duration || !checkpoint || checkpoint > duration) {
    const problem = 'not durations, or the checkpoint is longer than the bake';
    throw new DefinitionError('(command line)', [{ path: '--duration/--checkpoint', problem, fix: 'e.g. --duration 5m --checkpoint 1m' }]);
  }
  return { plan: { ...found, duration, checkpoint }, envConfig, evidenceDir: join(opts.projectRoot, config.evidenceDir) };
}

/** Live telemetry for a bake: its load profiles on repeat, its journeys on schedule, the alert watcher. */
async function openLiveTelemetry(plan: BakePlan, opts: BakeSessionOptions, envConfig: ReturnType<typeof resolveEnvironment>, clock: Clock) {
  const stop = new AbortController();
  let rulesDir: string | undefined;
  if (envConfig.kind === 'local') {
    const rules = await buildLocalRules(opts.projectRoot, opts.note);
    if (!rules.ok) throw new DefinitionError(undefined, [{ path: 'alerts/', problem: rules.message, fix: "run 'drill build' and fix what it reports" }]);
    rulesDir = rules.rulesDir;
  }
  const open = await openEnvironment(opts.environment, envConfig, {
    projectRoot: opts.projectRoot,
    clock,
    log: (l) => opts.progress?.(l),
    ...(rulesDir ? { rulesDir } : {}),
  });
  const log = new MemoryRunLog();
  open.alerts.start(log);
  const loops = plan.uses.load.filter(isLoadProfile).map(async (profile) => {
    while (!stop.signal.aborted)
      await runLoad(profile, {
        baseUrl: open.targetUrl(profile.target),
        clock,
        signal: stop.signal,
        onSample: (x) => log.append({ ...x, kind: 'load.sample' }),
      });
  });
  const browsers = new BrowserPool();
  const synth = (async () => {
    while (!stop.signal.aborted) {
      for (const j of plan.uses.journeys.filter((v): v is AnyJourney => isJourney(v) || isBrowserJourney(v))) {
        const r = await runJourney(j, {
          baseUrl: open.targetUrl(j.target),
          signal: stop.signal,
          ...(isBrowserJourney(j) ? { browser: await browsers.get() } : {}),
        }).catch(() => undefined);
        log.append({ t: clock.now(), kind: 'step', name: 'journey', detail: { journey: j.name, ok: r?.ok ?? false } });
      }
      await clock.sleep(plan.synthetics.every, stop.signal).catch(() => {});
    }
  })();
  const telemetry: BakeTelemetry = { source: 'live', collect: async (from, to) => windowFromLog(log.events, from, to) };
  const close = async () => {
    stop.abort();
    await Promise.allSettled([...loops, synth]);
    await browsers.close();
    await open.close();
  };
  return { telemetry, close };
}

export async function runBakeSession(opts: BakeSessionOptions): Promise<BakeSessionResult> {
  const { plan, envConfig, evidenceDir } = await loadBake(opts);
  const packDir = packDirOf(evidenceDir, opts.release);
  let clock: Clock;
  let telemetry: BakeTelemetry;
  let close = async () => {};
  if (opts.clock === 'virtual') {
    clock = new VirtualClock(Date.now());
    const start = clock.now();
    telemetry = simulatedTelemetry({ requestsPerSecond: 50, errorRatio: 0.0002, p50Ms: 20, p95Ms: 80, startedAt: () => start });
    opts.note('virtual clock: the bake runs against SIMULATED telemetry (a rehearsal of the checkpoints and verdict, not a measurement)');
  } else {
    clock = new RealClock();
    ({ telemetry, close } = await openLiveTelemetry(plan, opts, envConfig, clock));
  }
  try {
    const result = await runBake(plan, {
      packDir,
      clock,
      telemetry,
      ...(opts.resume ? { resume: true } : {}),
      ...(opts.onCheckpoint ? { onCheckpoint: opts.onCheckpoint } : {}),
    });
    const { report, sealed } = withPackLock(packDir, () => ({
      report: writeReport(packDir),
      sealed: sealWithProjectKey(opts.projectRoot, packDir, opts.note, { ...(opts.reseal ? { reseal: true } : {}) }),
    }));
    return { plan, result, packDir, report, sealed };
  } catch (err) {
    // An error that carries its code keeps it (an unfinished bake without --resume is a usage
    // error); anything else that stops a running bake is the environment's doing.
    if (exitCodeOf(err) !== undefined) throw err;
    throw new EnvironmentError(`drill bake: ${(err as Error).message}`, { cause: err });
  } finally {
    await close();
  }
}
