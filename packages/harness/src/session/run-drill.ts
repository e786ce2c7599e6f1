// One drill run from start to end: load and check the definition, open the environment,
// run the timeline, measure, write the evidence, close the environment. The CLI's
// `drill run` and the scheduler both call this.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig, loadDefinitions, pickDrill } from '../define/loader.ts';
import { resolveEnvironment } from '../define/config.ts';
import { DefinitionError } from '../define/errors.ts';
import type { DefinedDrill, EnvironmentConfig } from '../define/types.ts';
import { RealClock } from '../engine/clock.ts';
import { RollbackJournal } from '../engine/journal.ts';
import { JsonlRunLog } from '../engine/run-log.ts';
import { createRunId } from '../engine/run-id.ts';
import { abortOnSignals } from '../engine/signals.ts';
import { runTimeline, type BackgroundTask } from '../engine/timeline.ts';
import { ExitCode, type Clock, type RunEvent, type Verdict } from '../engine/types.ts';
import { localProviders, ProviderRegistry } from '../faults/registry.ts';
import { chaosMeshProvider } from '../faults/chaos-mesh/provider.ts';
import { measureEpisodes, mttr } from '../measure/episodes.ts';
import { measureBurn, measureBurnFromRatioSeries, samplesFromRunLog, type BurnReport } from '../measure/burn.ts';
import { createStopEvaluator } from '../measure/stop-conditions.ts';
import { decideVerdict } from '../measure/verdict.ts';
import { renderSummary } from '../measure/summary.ts';
import { runProbe, type ProbeEnvironment } from '../observe/probes.ts';
import { writeRunRecord, RUN_RECORD_SCHEMA, type MeasureRecord } from '../evidence/run-record.ts';
import { describePlan } from './describe-plan.ts';
import { annotationsOf, exportRunTrace } from '../observe/self-trace.ts';
import { writeTraceFiles } from '../evidence/traces.ts';
import { writeReport } from '../evidence/report.ts';
import { junitXml } from '../evidence/junit.ts';
import { canonicalJson } from '../evidence/canonical.ts';
import { isLoadProfile } from '../define/load.ts';
import { runLoad, type LoadSummary } from '../load/runner.ts';
import { isJourney } from '../define/journey.ts';
import { BrowserPool, runJourney } from '../synthetics/run-journey.ts';
import { fetchTraces, selectTraceSource } from '../observe/trace-backends.ts';
import { isBrowserJourney } from '../define/browser-journey.ts';
import { traceCoverage, type CoverageReport, type CoverageRequest } from '../measure/coverage.ts';
import { settleSpans, type StoredSpan } from '../observe/trace-store.ts';
import { writeFileAtomic } from '../evidence/atomic-write.ts';
import type { RunRecord } from '../evidence/run-record.ts';
import { HeartbeatWriter } from './heartbeat.ts';
import { takeBaseBackup } from '../faults/local/pitr.ts';
import type { LocalTarget } from '../faults/local/targets.ts';
import { restoreFromRun, type RestoreReport, type HeartbeatAck } from '../measure/restore.ts';
import { keygen, loadSigningKey } from '../evidence/sign.ts';
import { sealPack, withPackLock } from '../evidence/seal.ts';
import { packDir as packDirOf } from '../evidence/layout.ts';
import { buildLocalRules } from './local-rules.ts';
import { EnvironmentError, openEnvironment, type OpenEnvironment } from './environment.ts';

export interface RunDrillOptions {
  file: string;
  drillName?: string;
  environment: string;
  release: string;
  dryRun?: boolean;
  projectRoot: string;
  /** Lines for people (progress, notes) — stderr in the CLI. */
  note: (line: string) => void;
  progress?: (line: string) => void;
}

export interface RunDrillResult {
  exitCode: number;
  verdict?: Verdict;
  summary: string;
  runFile?: string;
  packDir?: string;
  runId?: string;
}

const TOOL = { name: 'drillbook', version: '0.1.0' };

export const journalPath = (projectRoot: string) => join(projectRoot, '.drillbook', 'journal.jsonl');

export function providerRegistry(): ProviderRegistry {
  return new ProviderRegistry([...localProviders, chaosMeshProvider()]);
}

function exitFor(verdict: Verdict): number {
  return verdict === 'pass' ? ExitCode.pass : verdict === 'fail' ? ExitCode.fail : verdict === 'aborted' ? ExitCode.aborted : ExitCode.environment;
}

/** Objectives of the SLOs a drill imported, for burn and budget stop conditions. */
function slosOf(drill: DefinedDrill): Record<string, { objective: number; periodMs: number }> {
  const out: Record<string, { objective: number; periodMs: number }> = {};
  for (const [id, slo] of Object.entries(drill.uses.slos)) {
    const s = slo as unknown as { objective?: number; period?: number };
    if (typeof s.objective === 'number' && typeof s.period === 'number') out[id] = { objective: s.objective, periodMs: s.period };
  }
  return out;
}

/**
 * Signs the pack with DRILLBOOK_SIGNING_KEY, or the project's key in .drillbook/keys
 * (made on first use, so a local run is always signed; a release pipeline sets its own).
 */
export function sealWithProjectKey(projectRoot: string, packDir: string, note: (l: string) => void): string {
  const keyDir = join(projectRoot, '.drillbook', 'keys');
  let key = loadSigningKey(join(keyDir, 'signing.key'));
  if (!key) {
    try {
      const made = keygen(keyDir);
      note(`made a signing key for this machine: ${relative(projectRoot, made.publicKeyPath)} verifies its packs`);
      key = loadSigningKey(made.privateKeyPath)!;
    } catch (err) {
      // Another run made it a moment ago: use that one.
      key = loadSigningKey(join(keyDir, 'signing.key'));
      if (!key) throw err;
    }
  }
  const { keyid } = sealPack(packDir, key);
  return `signed, keyid ${keyid.slice(0, 16)}…`;
}

export async function runDrill(opts: RunDrillOptions): Promise<RunDrillResult> {
  // ── definition and environment: every mistake here is exit 2, before anything starts ──
  let drill: DefinedDrill;
  let envConfig: EnvironmentConfig;
  let evidenceDir: string;
  const registry = providerRegistry();
  const providersByPhase: Record<string, string> = {};
  try {
    drill = pickDrill(await loadDefinitions(opts.file, process.cwd()), opts.drillName);
    const { config, file: configFile } = await loadConfig(opts.projectRoot);
    envConfig = resolveEnvironment(drill.plan, opts.environment, config, configFile ?? 'drillbook.config.ts');
    evidenceDir = join(opts.projectRoot, config.evidenceDir);
    for (const phase of drill.plan.phases) if (phase.fault) providersByPhase[phase.name] = registry.choose(phase.fault, envConfig).name;
  } catch (err) {
    if (err instanceof DefinitionError) return { exitCode: ExitCode.usage, summary: err.message };
    if (err instanceof Error && /no provider can inject/.test(err.message)) return { exitCode: ExitCode.usage, summary: `${opts.file}: ${err.message}` };
    throw err;
  }
  const plan = drill.plan;

  if (opts.dryRun) {
    const details: Record<string, string[]> = {};
    if (envConfig.kind === 'kubernetes') {
      // The objects the Chaos Mesh provider would create, checked against the CRD schemas.
      const { chaosObjectFor } = await import('../faults/chaos-mesh/objects.ts');
      const { CrdValidator } = await import('../faults/chaos-mesh/schema.ts');
      let validator: InstanceType<typeof CrdValidator> | undefined;
      try {
        validator = new CrdValidator();
      } catch {
        validator = undefined;
      }
      plan.phases.forEach((phase, i) => {
        if (!phase.fault || providersByPhase[phase.name] !== 'chaos-mesh') return; // SQL, custom: no object to show
        const o = chaosObjectFor(phase.fault, envConfig as Extract<EnvironmentConfig, { kind: 'kubernetes' }>, { runId: 'run-dry', faultId: `${i}-${phase.name}` });
        const issues = validator?.validate(o);
        details[phase.name] = [
          `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name} ${JSON.stringify(o.spec)}`,
          issues === undefined ? '(CRD schemas not found: not validated)' : issues.length ? `INVALID: ${issues.map((x) => `${x.path} ${x.message}`).join('; ')}` : 'valid against the Chaos Mesh CRD schema',
        ];
      });
    }
    const text = describePlan({ plan, environmentName: opts.environment, environmentKind: envConfig.kind, providers: providersByPhase, details });
    return { exitCode: ExitCode.pass, summary: `${text}\n\n(dry run: nothing was started, injected or written)` };
  }

  if (plan.restore && envConfig.kind !== 'local')
    return { exitCode: ExitCode.usage, summary: `${opts.file}: a postgres-pitr restore drill runs on the local stage; on '${envConfig.kind}' write the team's restore script as fault.custom({ inject, revert }) and it is timed the same way` };

  // ── crash leftovers first: a previous run's faults must be out before a new one goes in ──
  const journal = new RollbackJournal(journalPath(opts.projectRoot));
  const leftover = await journal.recoverPending((n) => registry.get(n), (_l, m) => opts.note(`recover: ${m}`));
  if (leftover.failed.length) return { exitCode: ExitCode.environment, summary: `faults from a crashed run could not be reverted:\n${leftover.failed.map((f) => `  ${f.record.description}: ${f.error}`).join('\n')}\nrevert them, then run 'drill recover'` };

  const clock: Clock = new RealClock();
  const runId = createRunId(clock);
  mkdirSync(join(opts.projectRoot, '.drillbook', 'runs'), { recursive: true });
  let rulesDir: string | undefined;
  if (envConfig.kind === 'local') {
    const rules = await buildLocalRules(opts.projectRoot, opts.note);
    if (!rules.ok) return { exitCode: ExitCode.usage, summary: rules.message };
    rulesDir = rules.rulesDir;
    opts.note('starting the local stage…');
  }

  let env: OpenEnvironment;
  try {
    env = await openEnvironment(opts.environment, envConfig, { projectRoot: opts.projectRoot, clock, log: (l) => opts.progress?.(l), ...(rulesDir ? { rulesDir } : {}) });
  } catch (err) {
    if (err instanceof EnvironmentError || (err as Error).name === 'EnvironmentError') return { exitCode: ExitCode.environment, summary: (err as Error).message };
    throw err;
  }

  const log = new JsonlRunLog(join(opts.projectRoot, '.drillbook', 'runs', `${runId}.jsonl`));
  const controller = new AbortController();
  const disposeSignals = abortOnSignals(controller, opts.note);
  const browsers = new BrowserPool(); // Chromium for browser journeys, started on first use
  try {
    if (env.facts.stageReadyMs) opts.note(`stage ready in ${(Number(env.facts.stageReadyMs) / 1000).toFixed(1)} s: service ${env.urls.service} · prometheus ${env.urls.prometheus}`);
    log.onAppend((e) => {
      if (e.kind === 'phase.started') opts.note(`▶ ${e.phase}`);
      else if (e.kind === 'fault.injected') opts.note(`  fault in: ${e.targets.join(', ')}`);
      else if (e.kind === 'fault.reverted') opts.note('  fault out');
      else if (e.kind === 'alert' && e.state === 'firing' && e.source === 'prometheus') opts.note(`  alert firing: ${e.alert}`);
      else if (e.kind === 'stop.breached') opts.note(`■ stop condition: ${e.condition} (${e.detail})`);
    });
    log.onAppend((e) => env.faultMetrics.observe(e, { drill: plan.name, runId }));
    // Journeys run as probes; every step's request is kept for trace coverage.
    const journeyRequests: CoverageRequest[] = [];
    const runJourneyProbe = async (name: string, signal: AbortSignal) => {
      const journey = drill.uses.journeys[name];
      if (!journey || !(isJourney(journey) || isBrowserJourney(journey))) return { ok: false, error: `journey '${name}' was not imported by the drill` };
      const r = await runJourney(journey, {
        baseUrl: env.targetUrl(journey.target),
        signal,
        runId,
        now: () => clock.now(),
        ...(isBrowserJourney(journey) ? { browser: await browsers.get(), screenshotDir: join(opts.projectRoot, '.drillbook', 'runs', `${runId}-screenshots`) } : {}),
      });
      if (journey.critical) journeyRequests.push(...r.coverage);
      for (const st of r.steps)
        log.append({ t: clock.now(), kind: 'step', name: 'journey', detail: { journey: journey.name, runner: r.runner, step: st.name, ok: st.ok, detail: st.detail, requests: st.requests, critical: journey.critical, ...(r.faroSessionId ? { faroSessionId: r.faroSessionId } : {}) } });
      return { ok: r.ok, ...(r.error ? { error: r.error } : {}) };
    };
    const probeEnv: ProbeEnvironment = { now: () => clock.now(), targetUrl: env.targetUrl, databaseUrl: env.databaseUrl, runJourney: runJourneyProbe, ...(env.prometheus ? { prometheus: env.prometheus } : {}) };
    const stops = createStopEvaluator(plan.stopWhen, { slos: slosOf(drill) });
    const background: BackgroundTask[] = [{ name: 'alerts', start: (sink) => env.alerts.start(sink), stop: () => env.alerts.stop() }];
    // Load runs for the whole drill (until its own duration ends or the run does).
    let loadSummary: LoadSummary | undefined;
    if (drill.uses.load && isLoadProfile(drill.uses.load)) {
      const profile = drill.uses.load;
      const stopLoad = new AbortController();
      let running: Promise<void> | undefined;
      background.push({
        name: 'load',
        start: (sink) => {
          running = runLoad(profile, { baseUrl: env.targetUrl(profile.target), clock, signal: stopLoad.signal, onSample: (x) => sink.append({ ...x, kind: 'load.sample' }) }).then((summary) => {
            loadSummary = summary;
          });
        },
        stop: async () => {
          stopLoad.abort();
          await running;
        },
      });
    }
    let heartbeat: HeartbeatWriter | undefined;
    if (plan.restore) {
      const db = env.resolveTarget(plan.restore.database) as LocalTarget;
      if (db.kind !== 'stage-database' || !db.paths) return { exitCode: ExitCode.usage, summary: `${opts.file}: restore.database '${plan.restore.database}' is not the stage's database` };
      heartbeat = new HeartbeatWriter(db.url, plan.restore.heartbeat.every, clock);
      await heartbeat.prepare();
      opts.note('taking a base backup (pg_basebackup)…');
      const t0 = clock.now();
      takeBaseBackup(db.paths.pgBin, db.url, db.paths.backupDir);
      log.append({ t: clock.now(), kind: 'step', name: 'base-backup', detail: { ms: clock.now() - t0 } });
      background.push(heartbeat);
    }
    const outcome = await runTimeline(plan, {
      runId,
      environmentName: opts.environment,
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
      onProgress: (p) => opts.progress?.(`${p.phaseIndex >= 0 ? `phase ${p.phaseIndex + 1}/${p.phases} ` : ''}${p.phase} · ${(p.elapsedMs / 1000).toFixed(0)} s · ${p.activity}`),
      log: (level, m) => opts.note(`${level}: ${m}`),
    });

    // ── measures and verdict ──
    const events = log.events as RunEvent[];
    const episodes = measureEpisodes(events, plan);
    const slo = Object.values(slosOf(drill))[0] ?? { objective: 0.999, periodMs: 30 * 86_400_000 };
    const { source, samples } = samplesFromRunLog(events);
    const burn: BurnReport = measureBurn(samples, slo.objective, slo.periodMs, outcome.startedAt, outcome.endedAt, source);
    // The same burn as Prometheus saw it, from the generated `slo:sli_error:ratio_rate5m` rule;
    // the series goes into the record so `drill verify` can derive it again.
    const sloEntry = Object.entries(drill.uses.slos)[0];
    let promSli: { sloId: string; query: string; series: Array<{ t: number; ratio: number }> } | undefined;
    if (env.prometheus && sloEntry) {
      const s = sloEntry[1] as unknown as { service?: string; name?: string };
      const query = `slo:sli_error:ratio_rate5m{sloth_id="${s.service}-${s.name}"}`;
      try {
        const series = await env.prometheus.queryRange(query, outcome.startedAt, outcome.endedAt, 1_000);
        promSli = { sloId: sloEntry[0], query, series: (series[0]?.values ?? []).map((v) => ({ t: v.time * 1000, ratio: Number.isFinite(v.value) ? v.value : 0 })) };
      } catch (err) {
        opts.note(`warn: Prometheus SLI series not read: ${(err as Error).message}`);
      }
    }
    const promBurn = promSli?.series.length ? measureBurnFromRatioSeries(promSli.series, slo.objective, slo.periodMs, outcome.startedAt, outcome.endedAt) : undefined;
    let restore: RestoreReport | undefined;
    let heartbeatData: { acks: HeartbeatAck[]; surviving: number[] } | undefined;
    if (heartbeat && outcome.status !== 'error') {
      const surviving = await heartbeat.surviving().catch(() => new Set<number>());
      heartbeatData = { acks: heartbeat.acks, surviving: [...surviving].sort((a, b) => a - b) };
      restore = restoreFromRun(events, episodes, heartbeatData, plan.targets ?? {});
    }
    // The run as a trace beside the service's (and, below, as Grafana annotations).
    let traceId: string | undefined;
    try {
      traceId = await exportRunTrace(`${env.urls.telemetry}/v1/traces`, events, episodes, { runId, drill: plan.name, environment: opts.environment });
    } catch (err) {
      opts.note(`warn: the run's own trace was not exported: ${(err as Error).message}`);
    }
    // Spans arrive in batches: wait until every journey's trace is complete or the exporter
    // has gone quiet, then take one snapshot that both trace coverage and the pack's traces/
    // file use, so verify can re-derive it.
    if (journeyRequests.length) await settleSpans(env.traces, () => traceCoverage(journeyRequests, (id) => env.traces.trace(id)).value === 1);
    const runSpans = env.traces.allSpans().filter((sp) => sp.startMs >= outcome.startedAt - 1_000);
    // On a stage whose traces live in Tempo or Jaeger, read the journeys' traces back from there.
    const traceSource = selectTraceSource(envConfig, env.traces);
    if (traceSource.name !== 'local' && journeyRequests.length) {
      opts.note(`reading ${new Set(journeyRequests.map((r) => r.traceId)).size} journey traces from ${traceSource.name}…`);
      const known = new Set(runSpans.map((sp) => `${sp.traceId}/${sp.spanId}`));
      for (const spans of (await fetchTraces(traceSource, journeyRequests.map((r) => r.traceId), { waitMs: 15_000 })).values())
        for (const sp of spans) if (!known.has(`${sp.traceId}/${sp.spanId}`)) runSpans.push(sp);
    }
    const byTrace = new Map<string, StoredSpan[]>();
    for (const sp of runSpans) (byTrace.get(sp.traceId) ?? byTrace.set(sp.traceId, []).get(sp.traceId)!).push(sp);
    const coverage: CoverageReport | undefined = journeyRequests.length ? traceCoverage(journeyRequests, (id) => byTrace.get(id) ?? []) : undefined;
    const coverageCheck = plan.checks?.traceCoverage && coverage ? { value: coverage.value, min: plan.checks.traceCoverage.min } : undefined;
    const { verdict, checks } = decideVerdict({ outcome, events, episodes, ...(restore ? { restore } : {}), ...(coverageCheck ? { coverage: coverageCheck } : {}) });
    const exitCode = exitFor(verdict);
    log.append({ t: clock.now(), kind: 'run.ended', verdict, exitCode: exitCode as 0, ...(outcome.reason ? { reason: outcome.reason } : {}) });
    log.close();

    const measures: Record<string, MeasureRecord> = { mttr: mttr(episodes), errorRatio: burn.errorRatio, burnRate: burn.burnRate, budgetConsumed: burn.budgetConsumed };
    if (restore) Object.assign(measures, { rpo: restore.rpo, rto: restore.rto, lostRows: restore.lostRows });
    if (coverage) measures.traceCoverage = coverage.measure;
    if (promBurn) Object.assign(measures, { promBurnRate: promBurn.burnRate, promBudgetConsumed: promBurn.budgetConsumed });
    for (const e of episodes) {
      measures[`${e.phase}.ttd`] = e.ttd;
      measures[`${e.phase}.ttr`] = e.ttr;
      measures[`${e.phase}.impact`] = e.impact;
    }
    // Record, report and seal under the pack's lock: another process may write this release.
    const { written, reportPath, sealed } = withPackLock(packDirOf(evidenceDir, opts.release), () => {
      writeTraceFiles(evidenceDir, opts.release, runId, { traceId, spans: runSpans, annotations: annotationsOf(events, plan.name, runId) });
      const written = writeRunRecord(evidenceDir, opts.release, {
        schema: RUN_RECORD_SCHEMA,
        runId,
        drill: plan.name,
        environment: opts.environment,
        startedAt: outcome.startedAt,
        endedAt: outcome.endedAt,
        plan,
        events: log.events as RunEvent[],
        measures,
        checks,
        verdict,
        exitCode,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        facts: { ...env.facts, ...(coverage ? { coverage: { perPath: coverage.perPath, incomplete: coverage.incomplete.slice(0, 50), errors: coverage.errors.slice(0, 50) } } : {}), traceId: traceId ?? null, spansReceived: runSpans.length, burnSource: source, burnPeaks: burn.peaks, ...(restore ? { restoreBreakdown: restore.breakdown } : {}) },
        ...(heartbeatData ? { heartbeat: heartbeatData } : {}),
        ...(journeyRequests.length ? { coverageRequests: journeyRequests } : {}),
        ...(promSli ? { prometheusSli: promSli } : {}),
        tool: TOOL,
      });
      writeFileAtomic(join(written.packDir, 'junit', `${runId}.xml`), junitXml(JSON.parse(readFileSync(written.path, 'utf8')) as RunRecord));
      if (loadSummary) writeFileAtomic(join(written.packDir, 'load', `${runId}.summary.json`), canonicalJson(loadSummary));
      const reportPath = writeReport(written.packDir);
      const sealed = sealWithProjectKey(opts.projectRoot, written.packDir, opts.note);
      return { written, reportPath, sealed };
    });
    const summary = renderSummary({
      drill: plan.name,
      environment: opts.environment,
      verdict,
      exitCode,
      runFile: relative(opts.projectRoot, written.path) || written.path,
      reportFile: relative(opts.projectRoot, reportPath),
      episodes,
      burn,
      checks,
      ...(restore ? { restore } : {}),
      ...(coverageCheck ? { coverage: coverageCheck } : {}),
      faultsLeftIn: journal.pending().filter((p) => p.pid === process.pid).length,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    });
    return { exitCode, verdict, summary: `${summary}\nevidence: ${relative(opts.projectRoot, written.packDir)} (${sealed})`, runFile: written.path, packDir: written.packDir, runId };
  } finally {
    disposeSignals();
    await browsers.close();
    log.close();
    opts.note('stopping the environment…');
    await env.close();
  }
}

