// Opening an environment for a drill: what its targets mean, where its Prometheus is,
// where alerts and traces arrive. `local` starts the embedded stage with the generated
// alert rules; `hosts` points at a team's running service; `kubernetes` at a cluster.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../define/types.ts';
import { AlertWatcher } from '../observe/alert-watcher.ts';
import { PrometheusClient } from '../observe/prometheus.ts';
import { TelemetryServer } from '../observe/telemetry-server.ts';
import { otlpTraceHandler } from '../observe/otlp-receiver.ts';
import { faroHandler, RumStore } from '../observe/faro-receiver.ts';
import { TraceStore } from '../observe/trace-store.ts';
import { FaultMetrics } from '../observe/fault-metrics.ts';
import type { LocalTarget } from '../faults/local/targets.ts';
import type { Clock } from '../engine/types.ts';
import type { HistoryChoice } from './run/history.ts';

import { EnvironmentError } from '../errors.ts';
export { EnvironmentError };

export interface OpenEnvironment {
  name: string;
  config: EnvironmentConfig;
  prometheus: PrometheusClient | undefined;
  alerts: AlertWatcher;
  traces: TraceStore;
  rum: RumStore;
  /** Base URLs for HTTP targets, connection strings for databases. */
  targetUrl(target: string): string;
  databaseUrl(target: string): string;
  /** What fault providers see for a target name. */
  resolveTarget(target: string): unknown;
  /** URLs of the running pieces, for the summary and the evidence pack. */
  urls: Record<string, string>;
  /** Extra facts for the run record (stage start time, versions). */
  facts: Record<string, unknown>;
  /** `drillbook_fault_active` on the harness's /metrics (scraped by the local stage's Prometheus). */
  faultMetrics: FaultMetrics;
  /** The Alertmanager that delivers this environment's alerts, with what it takes to ask it (health). */
  alertmanager?: { url: string; headers: Record<string, string> };
  /** Headers the harness's own exports send to its OTLP receiver (the per-run token). */
  telemetryHeaders: Record<string, string>;
  /** What the receivers refused or dropped during the run, for the record. */
  receiverFacts(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface OpenOptions {
  projectRoot: string;
  clock: Clock;
  log: (line: string) => void;
  /** Directory of generated alert rules for the local stage's Prometheus. */
  rulesDir?: string;
  /** Synthetic history for the local stage's Prometheus, and why (for the record). */
  history?: HistoryChoice;
}

/**
 * The harness's receivers for one run. `protectedServices` names the run's own services: their
 * spans are never pushed out of the bounded trace store by a flood from anyone else.
 */
async function openTelemetry(clock: Clock, prometheus: PrometheusClient | undefined, protectedServices: readonly string[] = []) {
  const traces = new TraceStore({ protectedServices });
  const rum = new RumStore();
  const faultMetrics = new FaultMetrics();
  const telemetry = new TelemetryServer()
    .route('/v1/traces', otlpTraceHandler(traces))
    .route('/collect', faroHandler(rum, traces))
    .get('/metrics', async () => ({ status: 200, contentType: faultMetrics.registry.contentType, body: await faultMetrics.text() }));
  const telemetryUrl = await telemetry.listen();
  const alerts = new AlertWatcher({ now: () => clock.now(), prometheus, sleep: (ms, s) => clock.sleep(ms, s) });
  const webhookUrl = await alerts.listen();
  const telemetryHeaders = { authorization: `Bearer ${telemetry.otlpToken}` };
  const receiverFacts = () => ({ alertsRejected: alerts.rejections(), traceStore: traces.stats(), rumDropped: { ...rum.dropped } });
  return { traces, rum, telemetry, telemetryUrl, alerts, webhookUrl, faultMetrics, telemetryHeaders, receiverFacts };
}

/** The local stage's target names and what each is, known before the stage starts (for checks). */
export const LOCAL_STAGE_TARGET_KINDS = { api: 'stage-service', db: 'stage-database' } as const;

/** What `api` and `db` mean on the local stage; a DR drill's base backup goes beside its state. */
export function localStageTargets(
  stage: {
    urls: { control: string; service: string; database: string };
    paths: { stateDir: string; dataDir: string; walArchive: string; pgBin: string };
    controlToken?: string;
  },
  backupDir = join(stage.paths.stateDir, 'base-backup'),
): Record<'api' | 'db', Extract<LocalTarget, { url: string }>> {
  const token = stage.controlToken === undefined ? {} : { controlToken: stage.controlToken };
  return {
    api: { kind: 'stage-service', name: 'api', controlUrl: stage.urls.control, url: stage.urls.service, ...token },
    db: {
      kind: 'stage-database',
      name: 'db',
      controlUrl: stage.urls.control,
      ...token,
      url: stage.urls.database,
      paths: { dataDir: stage.paths.dataDir, walArchive: stage.paths.walArchive, pgBin: stage.paths.pgBin, backupDir },
    },
  };
}

async function openLocal(name: string, config: Extract<EnvironmentConfig, { kind: 'local' }>, opts: OpenOptions): Promise<OpenEnvironment> {
  const { startStage, ownStateDir } = await import('@drillbook/stage');
  // One stage dir per harness process: drills run side by side (a scheduler) never stop each
  // other's stage; a crashed harness's stage is cleaned up by the next one.
  const own = await ownStateDir(join(opts.projectRoot, '.drillbook', 'stage'));
  if (own.swept) opts.log?.(`cleaned up ${own.swept} stage(s) left by harness processes that are gone`);
  // Prometheus's URL is known only after the stage starts; the watcher gets it then.
  const { STAGE_SERVICE_NAME } = await import('@drillbook/stage');
  const t = await openTelemetry(opts.clock, undefined, [STAGE_SERVICE_NAME]);
  let stage;
  try {
    stage = await startStage({
      replicas: config.stage?.replicas ?? 2,
      restartDelay: config.stage?.restartDelay ?? 1_000,
      scrapeInterval: config.stage?.scrapeInterval ?? 1_000,
      ...(config.stage?.archiveTimeout ? { archiveTimeout: config.stage.archiveTimeout } : {}),
      ...(opts.rulesDir ? { rulesDir: opts.rulesDir } : {}),
      alertWebhookUrl: t.webhookUrl,
      // Every sender authenticates to the harness's receivers with the per-run tokens.
      alertWebhookToken: t.alerts.webhookToken,
      otlpTracesUrl: `${t.telemetryUrl}/v1/traces`,
      otlpHeaders: t.telemetryHeaders,
      faroCollectorUrl: `${t.telemetryUrl}/collect`,
      faroHeaders: { authorization: `Bearer ${t.telemetry.faroToken}` },
      extraScrapeTargets: [{ job: 'drillbook', target: new URL(t.telemetryUrl).host }],
      ...(opts.history?.stage ? { history: opts.history.stage } : {}),
      stateDir: own.dir,
      log: opts.log,
    });
  } catch (err) {
    await t.alerts.close();
    await t.telemetry.close();
    rmSync(own.dir, { recursive: true, force: true });
    throw err;
  }
  const prometheus = new PrometheusClient(stage.urls.prometheus, undefined, stage.auth.prometheus);
  t.alerts.usePrometheus(prometheus);
  // Only this stage's notifications count: its receiver name and its Prometheus's external labels.
  t.alerts.acceptOnly({ receiver: stage.alertReceiver, externalLabels: stage.externalLabels });
  // The page (through the balancer or a replica directly) may post to /collect from the browser.
  for (const origin of [stage.urls.service, ...stage.urls.replicas]) t.telemetry.allowOrigin(origin);
  const targets = localStageTargets(stage);
  const lookup = (target: string) => {
    const t = (targets as Record<string, (typeof targets)['api']>)[target];
    if (!t) throw new EnvironmentError(`the local stage has targets ${Object.keys(targets).join(', ')}; there is no '${target}'`);
    return t;
  };
  return {
    name,
    config,
    prometheus,
    alerts: t.alerts,
    faultMetrics: t.faultMetrics,
    telemetryHeaders: t.telemetryHeaders,
    receiverFacts: t.receiverFacts,
    traces: t.traces,
    rum: t.rum,
    targetUrl: (target) => lookup(target).url,
    databaseUrl: (target) => lookup(target).url,
    resolveTarget: lookup,
    alertmanager: {
      url: stage.urls.alertmanager,
      headers: { authorization: `Basic ${Buffer.from(`${stage.auth.alertmanager.username}:${stage.auth.alertmanager.password}`).toString('base64')}` },
    },
    urls: {
      service: stage.urls.service,
      prometheus: stage.urls.prometheus,
      alertmanager: stage.urls.alertmanager,
      control: stage.urls.control,
      telemetry: t.telemetryUrl,
    },
    facts: { stageReadyMs: stage.readyInMs, ...(opts.history ? { syntheticHistory: { ...opts.history.decision, ...stage.history } } : {}) },
    async close() {
      await t.alerts.close();
      await t.telemetry.close();
      await stage.stop();
      rmSync(own.dir, { recursive: true, force: true });
    },
  };
}

async function openHosts(name: string, config: Extract<EnvironmentConfig, { kind: 'hosts' }>, opts: OpenOptions): Promise<OpenEnvironment> {
  const prometheus = config.prometheus ? new PrometheusClient(config.prometheus) : undefined;
  const t = await openTelemetry(opts.clock, prometheus);
  const lookup = (target: string): LocalTarget => {
    const host = config.targets[target];
    if (!host) throw new EnvironmentError(`environment '${name}' has targets ${Object.keys(config.targets).join(', ')}; there is no '${target}'`);
    return { kind: 'host', name: target, target: host };
  };
  const url = (target: string) => {
    const u = config.targets[target]?.url;
    if (!u) throw new EnvironmentError(`target '${target}' of environment '${name}' has no url`);
    return u;
  };
  return {
    name,
    config,
    prometheus,
    alerts: t.alerts,
    faultMetrics: t.faultMetrics,
    telemetryHeaders: t.telemetryHeaders,
    receiverFacts: t.receiverFacts,
    traces: t.traces,
    rum: t.rum,
    targetUrl: url,
    databaseUrl: url,
    resolveTarget: lookup,
    ...(config.alertmanager ? { alertmanager: { url: config.alertmanager, headers: {} } } : {}),
    urls: { ...(config.prometheus ? { prometheus: config.prometheus } : {}), telemetry: t.telemetryUrl, alertWebhook: t.webhookUrl },
    facts: {},
    async close() {
      await t.alerts.close();
      await t.telemetry.close();
    },
  };
}

export async function openEnvironment(name: string, config: EnvironmentConfig, opts: OpenOptions): Promise<OpenEnvironment> {
  switch (config.kind) {
    case 'local':
      return openLocal(name, config, opts);
    case 'hosts':
      return openHosts(name, config, opts);
    case 'kubernetes':
      throw new EnvironmentError(
        `environment '${name}' is a Kubernetes cluster: running against it needs a kubeconfig context '${config.context}' and a reachable API server; this machine has none. Use --dry-run to see the Chaos Mesh objects.`,
      );
  }
}
