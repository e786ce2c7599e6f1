// The `local` environment: the embedded stage on loopback, started for the run with the
// generated alert rules and the harness's receivers wired in, stopped after it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../../define/types.ts';
import { EnvironmentError } from '../../errors.ts';
import type { LocalTarget } from '../../faults/local/targets.ts';
import { PrometheusClient } from '../../observe/prometheus.ts';
import { stageControl } from '../../faults/local/stage-control.ts';
import { selectTraceSource } from '../../observe/trace-backends.ts';
import type { OpenEnvironment, OpenOptions } from '../environment.ts';
import { openTelemetry } from './telemetry.ts';

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

export async function openLocal(name: string, config: Extract<EnvironmentConfig, { kind: 'local' }>, opts: OpenOptions): Promise<OpenEnvironment> {
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
    await t.close();
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
    ...t.receivers,
    traceSource: selectTraceSource(undefined, t.traces),
    targetUrl: (target) => lookup(target).url,
    databaseUrl: (target) => lookup(target).url,
    resolveTarget: lookup,
    readyReplicas: async (target) => {
      if (lookup(target).kind !== 'stage-service') throw new EnvironmentError(`target '${target}' is the stage's database; only 'api' has replicas`);
      const replicas = await stageControl.replicas(stage.urls.control, stage.controlToken);
      return { ready: replicas.filter((r) => r.ready).length, total: replicas.length };
    },
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
      await t.close();
      await stage.stop();
      rmSync(own.dir, { recursive: true, force: true });
    },
  };
}
