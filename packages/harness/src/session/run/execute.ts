// Step 3 of a run: open the environment, check it (preflight), run the timeline with its probes,
// load, journeys and heartbeat, and collect every raw input the measures need — then close the
// environment. Nothing here decides a figure or a verdict (that is measure/run.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isBrowserJourney } from '../../define/browser-journey.ts';
import { isJourney } from '../../define/journey.ts';
import { isLoadProfile, type LoadProfile } from '../../define/load.ts';
import { RealClock } from '../../engine/clock.ts';
import { RollbackJournal } from '../../engine/journal.ts';
import { createRunId } from '../../engine/run-id.ts';
import { JsonlRunLog } from '../../engine/run-log.ts';
import { abortOnSignals } from '../../engine/signals.ts';
import { runTimeline, type BackgroundTask, type TimelineOutcome } from '../../engine/timeline.ts';
import type { Clock, RunEvent } from '../../engine/types.ts';
import { EnvironmentError } from '../../errors.ts';
import { takeBaseBackup } from '../../faults/local/pitr.ts';
import type { LocalTarget } from '../../faults/local/targets.ts';
import { runLoad, type LoadSummary } from '../../load/runner.ts';
import { traceCoverage, type CoverageRequest } from '../../measure/coverage.ts';
import { measureEpisodes, findRecovery } from '../../measure/episodes.ts';
import type { LoadThresholdResult, PrometheusSli } from '../../measure/run.ts';
import type { HeartbeatAck } from '../../measure/restore.ts';
import { createStopEvaluator } from '../../measure/stop-conditions.ts';
import { runProbe, type ProbeEnvironment } from '../../observe/probes.ts';
import { exportRunTrace } from '../../observe/self-trace.ts';
import { fetchTraces } from '../../observe/trace-backends.ts';
import { settleSpans, type StoredSpan } from '../../observe/trace-store.ts';
import { BrowserPool, runJourney } from '../../synthetics/run-journey.ts';
import { openEnvironment, type OpenEnvironment } from '../environment.ts';
import { HeartbeatWriter } from '../heartbeat.ts';
import { buildLocalRules } from '../local-rules.ts';
import { formatDuration } from '../../define/duration.ts';
import { alertWindows, chooseHistory, readRules, type HistoryChoice } from './history.ts';
import { openMitigationChannel } from '../mitigation-channel.ts';
import { RunMitigations } from '../mitigation-feed.ts';
import { dispatchTo, progressNotes } from './observers.ts';
import { preflight, reachable } from './preflight.ts';
import type { PreparedRun } from './prepare.ts';
import { DefinitionError } from '../../define/errors.ts';
import { isSloDefinition } from '../../define/slo.ts';
import { sliErrorRatioQuery } from '../../slo/conventions.ts';

export interface ExecuteOptions {
  projectRoot: string;
  note: (line: string) => void;
  progress?: ((line: string) => void) | undefined;
}

/** Everything a run produced that its measures and evidence are made from. */
export interface ExecutedRun {
  runId: string;
  outcome: TimelineOutcome;
  events: RunEvent[];
  journeyRequests: CoverageRequest[];
  /** Spans of the run's window: the service's (local store or trace backend) and the harness's. */
  spans: StoredSpan[];
  traceId?: string;
  heartbeat?: { acks: HeartbeatAck[]; surviving: number[] };
  prometheusSlis: PrometheusSli[];
  loadSummary?: LoadSummary;
  loadThresholds: LoadThresholdResult[];
  facts: Record<string, unknown>;
  /** Faults this process still has in (their reverts failed). */
  faultsLeftIn: number;
}

export const journalPath = (projectRoot: string) => join(projectRoot, '.drillbook', 'journal.jsonl');

/** The load profile's thresholds as the runner evaluated them, one row per threshold. */
export function thresholdResults(summary: LoadSummary): LoadThresholdResult[] {
  const out: LoadThresholdResult[] = [];
  for (const [metric, m] of Object.entries(summary.metrics))
    for (const [threshold, r] of Object.entries(m.thresholds ?? {})) out.push({ metric, threshold, ok: r.ok, values: m.values });
  return out;
}

/** Collects the raw inputs after the timeline ended, while the environment is still open. */
async function collect(
  prepared: PreparedRun,
  env: OpenEnvironment,
  outcome: TimelineOutcome,
  events: RunEvent[],
  journeyRequests: CoverageRequest[],
  opts: ExecuteOptions,
  runId: string,
) {
  const { plan } = prepared;
  // The same burn as Prometheus saw it, from the generated `slo:sli_error:ratio_rate5m` rule, per
  // SLO; the series go into the record so `drill verify` can derive them again.
  const prometheusSlis: PrometheusSli[] = [];
  if (env.prometheus)
    for (const [sloId, slo] of Object.entries(prepared.drill.uses.slos)) {
      if (!isSloDefinition(slo)) continue;
      const query = sliErrorRatioQuery(slo);
      try {
        const series = await env.prometheus.queryRange(query, outcome.startedAt, outcome.endedAt, 1_000);
        prometheusSlis.push({
          sloId,
          query,
          series: (series[0]?.values ?? []).map((v) => ({ t: v.time * 1000, ratio: Number.isFinite(v.value) ? v.value : 0 })),
        });
      } catch (err) {
        opts.note(`warn: Prometheus SLI series for ${sloId} not read: ${(err as Error).message}`);
      }
    }
  // The run as a trace beside the service's (Grafana annotations are made from the events).
  let traceId: string | undefined;
  try {
    traceId = await exportRunTrace(
      `${env.urls.telemetry}/v1/traces`,
      events,
      measureEpisodes(events, plan),
      { runId, drill: plan.name, environment: prepared.environmentName },
      env.telemetryHeaders,
    );
  } catch (err) {
    opts.note(`warn: the run's own trace was not exported: ${(err as Error).message}`);
  }
  // Spans arrive in batches: wait until every journey's trace is complete or the exporter has
  // gone quiet, then take one snapshot that trace coverage and the pack's traces/ both use.
  if (journeyRequests.length) await settleSpans(env.traces, () => traceCoverage(journeyRequests, (id) => env.traces.trace(id)).value === 1);
  env.faultMetrics.setTraceCoverage(prepared.plan.name, journeyRequests, (id) => env.traces.trace(id)); // per operation, on /metrics
  const spans = env.traces.allSpans().filter((sp) => sp.startMs >= outcome.startedAt - 1_000);
  // On a stage whose traces live in Tempo or Jaeger, read the journeys' traces back from there.
  const traceSource = env.traceSource;
  if (traceSource.name !== 'local' && journeyRequests.length) {
    opts.note(`reading ${new Set(journeyRequests.map((r) => r.traceId)).size} journey traces from ${traceSource.name}…`);
    const known = new Set(spans.map((sp) => `${sp.traceId}/${sp.spanId}`));
    for (const list of (
      await fetchTraces(
        traceSource,
        journeyRequests.map((r) => r.traceId),
        { waitMs: 15_000 },
      )
    ).values())
      for (const sp of list) if (!known.has(`${sp.traceId}/${sp.spanId}`)) spans.push(sp);
  }
  return { prometheusSlis, spans, ...(traceId ? { traceId } : {}) };
}

function urlIfAny(env: OpenEnvironment, target: string): string | undefined {
  try {
    return env.targetUrl(target);
  } catch {
    return undefined; // a target without a URL (a process, a database) is checked elsewhere
  }
}

/**
 * A Prometheus that stopped answering during the run cannot vouch for what did not fire: the run
 * becomes an environment error (exit 4), never a pass or a drill failure.
 */
async function environmentLost(env: OpenEnvironment): Promise<string | undefined> {
  // Alertmanager delivers the alerts that start remediations and page people: a run it stopped serving cannot vouch for either.
  if (env.alertmanager) {
    const why = await reachable(new URL('/-/healthy', env.alertmanager.url).href, { headers: env.alertmanager.headers, requireOk: true });
    if (why) return `Alertmanager at ${env.alertmanager.url} stopped answering during the run: ${why}`;
  }
  if (!env.prometheus) return undefined;
  const lost = env.alerts.health().prometheusLost;
  if (lost) return `Prometheus at ${env.prometheus.baseUrl} stopped answering during the run (from ${new Date(lost.since).toISOString()}): ${lost.error}`;
  try {
    await env.prometheus.query('1');
    return undefined;
  } catch (err) {
    return `Prometheus at ${env.prometheus.baseUrl} stopped answering during the run: ${(err as Error).message}`;
  }
}

/** Crash leftovers first: a previous run's faults must be out before a new one goes in. */
async function recoverLeftovers(registry: PreparedRun['registry'], opts: ExecuteOptions): Promise<RollbackJournal> {
  const journal = new RollbackJournal(journalPath(opts.projectRoot));
  const leftover = await journal.recoverPending(
    (n) => registry.get(n),
    (_l, m) => opts.note(`recover: ${m}`),
  );
  if (leftover.failed.length)
    throw new EnvironmentError(
      `faults from a crashed run could not be reverted:\n${leftover.failed.map((f) => `  ${f.record.description}: ${f.error}`).join('\n')}\nrevert them, then run 'drill recover'`,
    );
  return journal;
}

/** The local stage's alert rules (built from alerts/) and the synthetic past its Prometheus starts with. */
async function localRulesAndHistory(prepared: PreparedRun, opts: ExecuteOptions): Promise<{ rulesDir: string; history: HistoryChoice }> {
  const { plan, drill, envConfig } = prepared;
  const rules = await buildLocalRules(opts.projectRoot, opts.note);
  if (!rules.ok) throw new DefinitionError(undefined, [{ path: 'alerts/', problem: rules.message, fix: "run 'drill build' and fix what it reports" }]);
  // A past for the burn-rate windows of the alerts the drill expects, at the drill's load rate.
  const expected = plan.phases.flatMap((p) => p.expect?.alerts ?? []);
  const load = drill.uses.load && isLoadProfile(drill.uses.load) ? drill.uses.load : undefined;
  const configuredMs = envConfig.kind === 'local' ? envConfig.stage?.history : undefined;
  const history = chooseHistory({ configuredMs, windows: alertWindows(readRules(rules.rulesDir), expected), load });
  const what = history.stage ? `${formatDuration(history.stage.lengthMs)} at ${history.stage.ratePerSecond}/s` : 'none';
  opts.note(`synthetic history: ${what} (${history.decision.why})`);
  opts.note('starting the local stage…');
  return { rulesDir: rules.rulesDir, history };
}

/** A drill's journeys as probes: each step goes into the run log, each critical request into `journeyRequests`. */
function journeyProbe(io: {
  drill: PreparedRun['drill'];
  env: OpenEnvironment;
  clock: Clock;
  runId: string;
  browsers: BrowserPool;
  log: JsonlRunLog;
  screenshotDir: string;
  journeyRequests: CoverageRequest[];
}): NonNullable<ProbeEnvironment['runJourney']> {
  const { drill, env, clock, runId, browsers, log } = io;
  return async (name, signal) => {
    const journey = drill.uses.journeys[name];
    if (!journey || !(isJourney(journey) || isBrowserJourney(journey))) return { ok: false, error: `journey '${name}' was not imported by the drill` };
    const r = await runJourney(journey, {
      baseUrl: env.targetUrl(journey.target),
      signal,
      runId,
      now: () => clock.now(),
      ...(isBrowserJourney(journey) ? { browser: await browsers.get(), screenshotDir: io.screenshotDir } : {}),
    });
    if (journey.critical) for (const c of r.coverage) io.journeyRequests.push(c);
    for (const st of r.steps)
      log.append({
        t: clock.now(),
        kind: 'step',
        name: 'journey',
        detail: {
          journey: journey.name,
          runner: r.runner,
          step: st.name,
          ok: st.ok,
          detail: st.detail,
          requests: st.requests,
          critical: journey.critical,
          ...(r.faroSessionId ? { faroSessionId: r.faroSessionId } : {}),
        },
      });
    return { ok: r.ok, ...(r.error ? { error: r.error } : {}) };
  };
}

/** The drill's load as a background task for the whole run, and its summary once it stopped. */
function loadTask(profile: LoadProfile, env: OpenEnvironment, clock: Clock): { task: BackgroundTask; summary: () => LoadSummary | undefined } {
  const stopLoad = new AbortController();
  let running: Promise<void> | undefined;
  let summary: LoadSummary | undefined;
  const task: BackgroundTask = {
    name: 'load',
    start: (sink) => {
      running = runLoad(profile, {
        baseUrl: env.targetUrl(profile.target),
        clock,
        signal: stopLoad.signal,
        onSample: (x) => sink.append({ ...x, kind: 'load.sample' }),
      }).then((s) => {
        summary = s;
      });
    },
    stop: async () => {
      stopLoad.abort();
      await running;
    },
  };
  return { task, summary: () => summary };
}

export async function executeRun(prepared: PreparedRun, opts: ExecuteOptions): Promise<ExecutedRun> {
  const { plan, drill, envConfig, registry } = prepared;
  const journal = await recoverLeftovers(registry, opts);

  const clock: Clock = new RealClock();
  const runId = createRunId(clock);
  mkdirSync(join(opts.projectRoot, '.drillbook', 'runs'), { recursive: true });
  const { rulesDir, history } = envConfig.kind === 'local' ? await localRulesAndHistory(prepared, opts) : {};
  const env = await openEnvironment(prepared.environmentName, envConfig, {
    projectRoot: opts.projectRoot,
    clock,
    log: (l) => opts.progress?.(l),
    ...(rulesDir ? { rulesDir } : {}),
    ...(history ? { history } : {}),
  });

  const log = new JsonlRunLog(join(opts.projectRoot, '.drillbook', 'runs', `${runId}.jsonl`));
  const controller = new AbortController();
  const disposeSignals = abortOnSignals(controller, opts.note);
  const browsers = new BrowserPool(); // Chromium for browser journeys, started on first use
  // Phases that wait for the team's mitigation: `drill mitigate` reaches this run through a channel file.
  const awaiting = plan.phases.filter((p) => p.until === 'mitigated').map((p) => p.name);
  const channel = awaiting.length ? openMitigationChannel(opts.projectRoot, { runId, drill: plan.name, phases: awaiting }) : undefined;
  try {
    if (env.facts.stageReadyMs)
      opts.note(`stage ready in ${(Number(env.facts.stageReadyMs) / 1000).toFixed(1)} s: service ${env.urls.service} · prometheus ${env.urls.prometheus}`);
    const checked = await preflight(plan, prepared.environmentName, envConfig, {
      prometheus: env.prometheus,
      alertmanagerUrl: envConfig.kind === 'local' ? undefined : env.alertmanager?.url,
      alertmanagerHeaders: env.alertmanager?.headers,
      targetUrl: (t) => urlIfAny(env, t),
      environmentChecks: env.preflight,
    });
    log.onAppend(dispatchTo([progressNotes(opts.note)]));
    log.onAppend((e) => env.faultMetrics.observe(e, { drill: plan.name, runId }));
    const mitigations = awaiting.length
      ? new RunMitigations({
          projectRoot: opts.projectRoot,
          runId,
          environment: prepared.environmentName,
          now: () => clock.now(),
          targetUrl: (t) => urlIfAny(env, t),
          ...(channel ? { channelFile: channel.file } : {}),
          log: (level, m) => opts.note(`${level}: ${m}`),
        })
      : undefined;
    if (mitigations) log.onAppend((e) => mitigations.observe(e));

    // Journeys run as probes; every critical step's request is kept for trace coverage.
    const journeyRequests: CoverageRequest[] = [];
    const runJourneyProbe = journeyProbe({
      drill,
      env,
      clock,
      runId,
      browsers,
      log,
      screenshotDir: join(opts.projectRoot, '.drillbook', 'runs', `${runId}-screenshots`),
      journeyRequests,
    });
    const probeEnv: ProbeEnvironment = {
      now: () => clock.now(),
      targetUrl: env.targetUrl,
      databaseUrl: env.databaseUrl,
      runJourney: runJourneyProbe,
      ...(env.prometheus ? { prometheus: env.prometheus } : {}),
      ...(env.readyReplicas ? { readyReplicas: env.readyReplicas } : {}),
    };
    const stops = createStopEvaluator(plan.stopWhen, { slos: prepared.slos });
    const background: BackgroundTask[] = [{ name: 'alerts', start: (sink) => env.alerts.start(sink), stop: () => env.alerts.stop() }];

    // Load runs for the whole drill (until its own duration ends or the run does).
    const load = drill.uses.load && isLoadProfile(drill.uses.load) ? loadTask(drill.uses.load, env, clock) : undefined;
    if (load) background.push(load.task);
    let heartbeat: HeartbeatWriter | undefined;
    if (plan.restore) {
      const db = env.resolveTarget(plan.restore.database) as LocalTarget;
      if (db.kind !== 'stage-database' || !db.paths) throw new EnvironmentError(`restore.database '${plan.restore.database}' is not the stage's database`);
      heartbeat = new HeartbeatWriter(db.url, plan.restore.heartbeat.every, clock);
      await heartbeat.prepare();
      opts.note('taking a base backup (pg_basebackup)…');
      const t0 = clock.now();
      takeBaseBackup(db.paths.pgBin, db.url, db.paths.backupDir);
      log.append({ t: clock.now(), kind: 'step', name: 'base-backup', detail: { ms: clock.now() - t0 } });
      background.push(heartbeat);
    }

    let outcome = await runTimeline(plan, {
      findRecovery,
      runId,
      environmentName: prepared.environmentName,
      environment: envConfig,
      clock,
      sink: log,
      journal,
      chooseProvider: (f) => registry.choose(f, envConfig),
      resolveTarget: env.resolveTarget,
      runProbe: (p, signal) => runProbe(p, probeEnv, signal),
      checkStop: (e) => stops.observe(e),
      background,
      signal: controller.signal,
      onProgress: (p) =>
        opts.progress?.(
          `${p.phaseIndex >= 0 ? `phase ${p.phaseIndex + 1}/${p.phases} ` : ''}${p.phase} · ${(p.elapsedMs / 1000).toFixed(0)} s · ${p.activity}`,
        ),
      log: (level, m) => opts.note(`${level}: ${m}`),
      ...(mitigations ? { mitigations } : {}),
    });
    const lost = outcome.status === 'completed' ? await environmentLost(env) : undefined;
    if (lost) {
      opts.note(`error: ${lost}`);
      log.append({ t: clock.now(), kind: 'log', level: 'error', message: lost });
      outcome = { ...outcome, status: 'error', reason: lost };
    }

    let heartbeatData: ExecutedRun['heartbeat'];
    if (heartbeat && outcome.status !== 'error') {
      const surviving = await heartbeat.surviving().catch(() => new Set<number>());
      heartbeatData = { acks: heartbeat.acks, surviving: [...surviving].sort((a, b) => a - b) };
    }
    const events = log.events as RunEvent[];
    const collected = await collect(prepared, env, outcome, events, journeyRequests, opts, runId);
    return {
      runId,
      outcome,
      events,
      journeyRequests,
      ...collected,
      ...(heartbeatData ? { heartbeat: heartbeatData } : {}),
      ...(load?.summary() ? { loadSummary: load.summary()! } : {}),
      loadThresholds: load?.summary() ? thresholdResults(load.summary()!) : [],
      facts: {
        ...env.facts,
        preflight: checked.checked,
        receivers: env.receiverFacts(),
        // What the load generator cost (the whole harness process: it runs in-process), so a reader knows it did not distort the measure.
        ...(load?.summary()?.generator ? { loadGenerator: load.summary()!.generator } : {}),
      },
      faultsLeftIn: journal.pending().filter((p) => p.pid === process.pid).length,
    };
  } finally {
    channel?.close();
    disposeSignals();
    await browsers.close();
    log.close();
    if (env.sweepRun)
      try {
        const swept = await env.sweepRun(runId);
        if (swept.length) opts.note(`warn: deleted ${swept.length} object(s) the run left behind, found by its label: ${swept.join(', ')}`);
      } catch (err) {
        opts.note(`error: ${(err as Error).message}; run 'drill recover --env ${prepared.environmentName}'`);
      }
    opts.note('stopping the environment…');
    await env.close();
  }
}
