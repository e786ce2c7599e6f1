// startSimStage: the local stage with a simulated Kubernetes API server in front of it — the
// stage's service exports its traces to the simulation's Tempo, the server runs in stage mode
// on 127.0.0.1 with a per-run bearer token, and a kubeconfig (context `sim`, namespace
// `intelgraph`, 0600) points at it.
import { resolve } from 'node:path';
import { startStage, type Stage, type StageOptions } from '../index.ts';
import { KubeSim, type KubeSimOptions } from './server.ts';
import { APP_NAMESPACE } from './stage-mirror.ts';
import { SimTempo } from './tempo.ts';

export const SIM_CONTEXT = 'sim';

export interface SimStageOptions
  extends
    Pick<
      StageOptions,
      | 'rulesDir'
      | 'history'
      | 'replicas'
      | 'restartDelay'
      | 'scrapeInterval'
      | 'evaluationInterval'
      | 'archiveTimeout'
      | 'stateDir'
      | 'log'
      // The cluster's Alertmanager delivers here, as a team's would to a drill's fixed webhook.
      | 'alertWebhookUrl'
      | 'alertWebhookToken'
    >,
    Pick<
      KubeSimOptions,
      'crds' | 'deny' | 'validate' | 'runTestRun' | 'injectDelayMs' | 'deleteDelayMs' | 'stressNg' | 'pollIntervalMs' | 'statusIntervalMs' | 'jobs'
    > {
  /** Where the kubeconfig is written (0600). */
  kubeconfigPath: string;
}

export interface SimStage {
  sim: KubeSim;
  stage: Stage;
  kubeconfigPath: string;
  /** The API server's URL. */
  url: string;
  /** Stops the simulation (undoing its faults), then the stage. */
  stop(): Promise<void>;
}

export async function startSimStage(opts: SimStageOptions): Promise<SimStage> {
  const tempo = new SimTempo();
  await tempo.start();
  let stage: Stage;
  try {
    stage = await startStage({
      rulesDir: opts.rulesDir,
      history: opts.history,
      replicas: opts.replicas,
      restartDelay: opts.restartDelay,
      scrapeInterval: opts.scrapeInterval,
      evaluationInterval: opts.evaluationInterval,
      archiveTimeout: opts.archiveTimeout,
      stateDir: opts.stateDir,
      alertWebhookUrl: opts.alertWebhookUrl,
      alertWebhookToken: opts.alertWebhookToken,
      log: opts.log,
      otlpTracesUrl: tempo.otlp.url,
      otlpHeaders: tempo.otlp.headers,
    });
  } catch (err) {
    await tempo.stop();
    throw err;
  }
  const sim = new KubeSim({
    stage,
    tempo,
    crds: opts.crds,
    deny: opts.deny,
    validate: opts.validate,
    runTestRun: opts.runTestRun,
    injectDelayMs: opts.injectDelayMs,
    deleteDelayMs: opts.deleteDelayMs,
    stressNg: opts.stressNg,
    pollIntervalMs: opts.pollIntervalMs,
    statusIntervalMs: opts.statusIntervalMs,
    jobs: opts.jobs,
    log: opts.log,
  });
  try {
    await sim.start();
  } catch (err) {
    await sim.stop().catch(() => {});
    await stage.stop();
    throw err;
  }
  const kubeconfigPath = sim.writeKubeconfig(resolve(opts.kubeconfigPath), SIM_CONTEXT, APP_NAMESPACE);
  let stopping: Promise<void> | undefined;
  return {
    sim,
    stage,
    kubeconfigPath,
    url: sim.url,
    stop() {
      stopping ??= (async () => {
        try {
          await sim.stop();
        } finally {
          await stage.stop();
        }
      })();
      return stopping;
    },
  };
}
