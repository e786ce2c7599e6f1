// Library API of the local stage: start it (with a lifeline to the caller), stop it, clean up
// after a crashed one, and the `drill stage up|down|status` command.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { nodeArgsFor, packageDir } from './node-entry.ts';
import { EnvironmentError, stageBinaries } from './binaries.ts';
import { childEnv, isAlive, waitUntil } from './proc.ts';
import { privateDir, randomSecret, writePrivateFile, type BasicAuth } from './secrets.ts';
import { cleanupStaleStage as cleanupIn, controlTokenFromStateDirs, readState, sameProcess, type StageState, type StageUrls } from './state.ts';
import type { ComponentStatus } from './host/control.ts';
import type { HistoryFacts, HistoryOptions } from './host/history.ts';
import type { HostOptions } from './host/main.ts';

export { EnvironmentError } from './binaries.ts';
export { FaultProxy, type ProxyEffects } from './fault-proxy.ts';
export type { ComponentStatus, ReplicaInfo } from './host/control.ts';
export type { StageSecrets, StageState } from './state.ts';
export type { HistoryFacts, HistoryOptions } from './host/history.ts';
export { ownStateDir } from './state.ts';
export { childEnv, INHERITED_ENV } from './proc.ts';
export { basicAuthHeader, type BasicAuth } from './secrets.ts';

export interface StageOptions {
  /** Service replicas behind the balancer (default 2). */
  replicas?: number;
  /** Milliseconds the supervisor waits before restarting a dead replica (default 1000). */
  restartDelay?: number;
  /** Prometheus scrape interval in ms (default 1000). */
  scrapeInterval?: number;
  /** Prometheus rule evaluation interval in ms (default 1000). */
  evaluationInterval?: number;
  /** Directory of Prometheus rule files (*.yaml, *.yml). */
  rulesDir?: string;
  /** Alertmanager's webhook receiver posts here. */
  alertWebhookUrl?: string;
  /** Sent by Alertmanager as `Authorization: Bearer <token>` with every webhook notification. */
  alertWebhookToken?: string;
  /** OTLP/HTTP traces endpoint for the service (…/v1/traces); no tracing when unset. */
  otlpTracesUrl?: string;
  /** Headers the service sends with its OTLP exports (e.g. the collector's bearer token). */
  otlpHeaders?: Record<string, string>;
  /** Faro collector URL the web page reports to. */
  faroCollectorUrl?: string;
  /** Headers the page's Faro transport sends with each post. */
  faroHeaders?: Record<string, string>;
  /** More Prometheus scrape jobs (`host:port`, path /metrics), e.g. the harness's fault gauges. */
  extraScrapeTargets?: Array<{ job: string; target: string }>;
  /**
   * Synthetic healthy history for the service's request metrics, written into Prometheus before
   * it starts, so burn-rate windows (1h, 6h) hold a past as in production. None when unset.
   */
  history?: HistoryOptions;
  /** PostgreSQL archive_timeout in ms (default 10000; rounded to whole seconds). */
  archiveTimeout?: number;
  /** Where stage.json and the WAL archive live (default <repo>/.drillbook/stage). */
  stateDir?: string;
  /** Start without a lifeline: the stage outlives the caller until `down` (what `stage up` does). */
  detached?: boolean;
  /** Extra environment for the replicas (they get nothing else of the caller's environment). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Stage {
  /** `database` and `databaseViaProxy` carry the superuser's password. */
  urls: StageUrls;
  paths: { stateDir: string; dataDir: string; walArchive: string; pgBin: string };
  readyInMs: number;
  /** Bearer token of the control API (urls.control). */
  controlToken: string;
  /** Basic-auth credentials of Prometheus and Alertmanager. */
  auth: { prometheus: BasicAuth; alertmanager: BasicAuth };
  /** Prometheus's external labels: every alert of this stage carries them. */
  externalLabels: Record<string, string>;
  /** Alertmanager's webhook receiver name ('' without alertWebhookUrl). */
  alertReceiver: string;
  /** The synthetic history Prometheus started with (absent: none). */
  history?: HistoryFacts;
  status(): Promise<ComponentStatus[]>;
  stop(): Promise<void>;
}

const repoRoot = resolve(packageDir, '..', '..');
export const defaultStateDir = (): string => join(repoRoot, '.drillbook', 'stage');

/** Kills whatever a previous (crashed) stage left and removes its temp dirs. */
export function cleanupStaleStage(stateDir: string = defaultStateDir()): Promise<{ killed: number; removed: string[] }> {
  return cleanupIn(stateDir);
}

/** The last lines of a log, for an error message (the file may be cleaned up after). */
function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((l) => `  ${l}`)
      .join('\n');
  } catch {
    return '  (no log)';
  }
}

/** Control tokens of the stages this process started or found, by control API origin. */
const knownTokens = new Map<string, string>();

/**
 * The bearer token for the control API at `controlUrl`: from a stage handle of this process,
 * else from a state file in `searchDirs` (default: the default state dir and its owned dirs,
 * and <cwd>/.drillbook/stage) — how a later `drill recover` reaches a stage it did not start.
 */
export function controlTokenFor(controlUrl: string, searchDirs?: string[]): string | undefined {
  const origin = new URL(controlUrl).origin;
  const known = knownTokens.get(origin);
  if (known) return known;
  const dirs = searchDirs ?? [...new Set([defaultStateDir(), join(process.cwd(), '.drillbook', 'stage')])];
  const found = controlTokenFromStateDirs(controlUrl, dirs);
  if (found) knownTokens.set(origin, found);
  return found;
}

async function fetchStatus(controlUrl: string, token: string): Promise<ComponentStatus[]> {
  const res = await fetch(new URL('/status', controlUrl), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`stage control API /status answered ${res.status}`);
  return (await res.json()) as ComponentStatus[];
}

/** Stops the host with SIGTERM and waits; whatever is left after 20 s is killed from the state file. */
async function stopHost(stateDir: string, hostPid: number): Promise<void> {
  try {
    process.kill(hostPid, 'SIGTERM');
  } catch {
    // already gone
  }
  await waitUntil(() => !isAlive(hostPid), 20_000, 50);
  await cleanupIn(stateDir);
}

function stageFrom(state: StageState, stateDir: string, onStop?: () => void): Stage {
  let stopping: Promise<void> | undefined;
  const secrets = state.secrets;
  if (!secrets) throw new Error(`${join(stateDir, 'stage.json')} has no secrets: it was written by an older stage; run 'drill stage down' and start it again`);
  knownTokens.set(new URL(state.urls!.control).origin, secrets.controlToken);
  return {
    urls: state.urls!,
    paths: state.paths!,
    readyInMs: state.readyInMs!,
    controlToken: secrets.controlToken,
    auth: { prometheus: secrets.prometheus, alertmanager: secrets.alertmanager },
    externalLabels: state.externalLabels ?? {},
    alertReceiver: state.alertReceiver ?? '',
    ...(state.history ? { history: state.history } : {}),
    status: () => fetchStatus(state.urls!.control, secrets.controlToken),
    stop() {
      stopping ??= stopHost(stateDir, state.hostPid).finally(() => onStop?.());
      return stopping;
    },
  };
}

export async function startStage(options: StageOptions = {}): Promise<Stage> {
  stageBinaries(); // fail fast, in the caller, with the package to install
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  const stale = await cleanupIn(stateDir);
  if (stale.killed || stale.removed.length)
    options.log?.(`cleaned up a previous stage: ${stale.killed} process groups killed, ${stale.removed.length} temp dirs removed`);
  const hostOptions: HostOptions = {
    replicas: options.replicas ?? 2,
    restartDelay: options.restartDelay ?? 1_000,
    scrapeInterval: options.scrapeInterval ?? 1_000,
    evaluationInterval: options.evaluationInterval ?? 1_000,
    rulesDir: options.rulesDir,
    alertWebhookUrl: options.alertWebhookUrl,
    alertWebhookToken: options.alertWebhookToken,
    otlpTracesUrl: options.otlpTracesUrl,
    otlpHeaders: options.otlpHeaders,
    faroCollectorUrl: options.faroCollectorUrl,
    faroHeaders: options.faroHeaders,
    extraScrapeTargets: options.extraScrapeTargets,
    ...(options.history ? { history: options.history } : {}),
    archiveTimeout: options.archiveTimeout ?? 10_000,
    stateDir,
    lifeline: !options.detached,
    env: options.env ?? {},
  };
  privateDir(stateDir);
  const logFd = openSync(join(stateDir, 'host.log'), 'a', 0o600);
  // The options may hold tokens: a 0600 file the host reads and removes, not its environment.
  const optionsFile = join(stateDir, `host-options.${randomSecret(6)}.json`);
  writePrivateFile(optionsFile, JSON.stringify(hostOptions));
  const host = spawn(process.execPath, nodeArgsFor('host/main'), {
    cwd: repoRoot,
    env: childEnv({ DRILLBOOK_STAGE_OPTIONS_FILE: optionsFile }),
    // stdin: the lifeline pipe (or nothing when detached); fd 3: progress messages.
    stdio: [options.detached ? 'ignore' : 'pipe', logFd, logFd, 'pipe'],
    detached: true,
  });
  closeSync(logFd);
  const channel = host.stdio[3] as NodeJS.ReadableStream;
  const result = await new Promise<StageState>((resolveReady, reject) => {
    const lines = createInterface({ input: channel });
    lines.on('line', (line) => {
      let m: { type: string; line?: string; state?: StageState; message?: string; environment?: boolean };
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      if (m.type === 'log') options.log?.(m.line!);
      else if (m.type === 'ready') resolveReady(m.state!);
      else if (m.type === 'error') reject(m.environment ? new EnvironmentError(m.message!) : new Error(`the stage did not start: ${m.message}`));
    });
    host.once('exit', (code, signal) =>
      reject(
        new Error(
          `the stage host exited during start-up (${signal ?? `code ${code}`}); the end of ${join(stateDir, 'host.log')}:\n${tailOf(join(stateDir, 'host.log'), 20)}`,
        ),
      ),
    );
  }).catch(async (err: unknown) => {
    rmSync(optionsFile, { force: true }); // the host may have died before reading it
    await waitUntil(() => host.exitCode !== null || host.signalCode !== null, 20_000);
    await cleanupIn(stateDir);
    throw err;
  });
  // From here the host lives on its own; we keep only the lifeline (not detached).
  (channel as unknown as { destroy(): void }).destroy();
  if (options.detached) host.unref();
  else {
    // The lifeline must not keep the caller's event loop alive.
    (host.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    host.unref();
  }
  return stageFrom(result, stateDir, () => host.stdin?.destroy());
}

/** The stage recorded in stateDir, if its host is still running and ready. */
export function runningStage(stateDir: string = defaultStateDir()): Stage | undefined {
  const state = readState(stateDir);
  if (!state?.ready || !state.urls) return undefined;
  const host = state.processes.find((p) => p.name === 'host');
  if (!host || !sameProcess(host)) return undefined;
  return stageFrom(state, stateDir);
}

function printStatus(components: ComponentStatus[], out: (s: string) => void): void {
  const w = components.reduce((m, c) => Math.max(m, c.name.length), 0);
  for (const c of components) {
    out(
      `${c.healthy ? 'healthy  ' : 'UNHEALTHY'}  ${c.name.padEnd(w)}  pid ${String(c.pid ?? '-').padEnd(7)} port ${String(c.port ?? '-').padEnd(5)}  ${c.detail ?? c.url ?? ''}`.trimEnd() +
        '\n',
    );
  }
}

export type StageAction = 'up' | 'down' | 'status';

/** What `drill stage` was asked, already parsed: the command line is the harness CLI's (cli/stage.ts). */
export interface StageCommandOptions {
  json?: boolean;
  /** For `up`: service replicas (default 2). */
  replicas?: number;
  /** For `up`: ms before a dead replica is restarted (default 1000). */
  restartDelay?: number;
  stateDir?: string;
}

/** `drill stage up|down|status`: its output and exit code (0 ok, 1 failure or unhealthy, 3 none running, 4 environment). */
export async function runStageCommand(
  cmd: StageAction,
  options: StageCommandOptions = {},
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const json = options.json ?? false;
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  try {
    switch (cmd) {
      case 'up': {
        const existing = runningStage(stateDir);
        if (existing) {
          io.err(`a stage is already running (control ${existing.urls.control}); run 'drill stage down' first\n`);
          return 1;
        }
        const stage = await startStage({ stateDir, detached: true, replicas: options.replicas, restartDelay: options.restartDelay });
        if (json) io.out(JSON.stringify({ readyInMs: stage.readyInMs, urls: stage.urls, paths: stage.paths }, null, 2) + '\n');
        else {
          io.out(`stage ready in ${(stage.readyInMs / 1000).toFixed(1)} s\n`);
          io.out(`  service       ${stage.urls.service}\n  prometheus    ${stage.urls.prometheus}\n  alertmanager  ${stage.urls.alertmanager}\n`);
          io.out(`  control       ${stage.urls.control}\n  database      ${stage.urls.database}\n`);
        }
        return 0;
      }
      case 'down': {
        const state = readState(stateDir);
        if (!state) {
          io.out('no stage is running\n');
          return 0;
        }
        const host = state.processes.find((p) => p.name === 'host');
        if (host && sameProcess(host)) await stopHost(stateDir, host.pid);
        else await cleanupIn(stateDir);
        io.out('stage stopped\n');
        return 0;
      }
      case 'status': {
        const stage = runningStage(stateDir);
        if (!stage) {
          if (json) io.out(JSON.stringify({ running: false, components: [] }) + '\n');
          else io.out('no stage is running\n');
          return 3;
        }
        const components = await stage.status();
        if (json) io.out(JSON.stringify({ running: true, urls: stage.urls, components }, null, 2) + '\n');
        else printStatus(components, io.out);
        return components.every((c) => c.healthy) ? 0 : 1;
      }
      default:
        io.err(`usage: drill stage up|down|status (not '${String(cmd)}')\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof EnvironmentError) {
      io.err(`${err.message}\n`);
      return 4;
    }
    io.err(`${(err as Error).message}\n`);
    return 1;
  }
}
export { SERVICE_NAME as STAGE_SERVICE_NAME } from './service/name.ts';
// The simulated Kubernetes API server (fake Deployments, or in front of a real stage).
export {
  KubeSim,
  SIM_VERSION,
  type AccessRule,
  type KubeSimOptions,
  type SimObject,
  type SimStageHandle,
  type FakeDeployment,
  type TestRunRequest,
  type TestRunRunner,
} from './kube-sim/server.ts';
export { SimTempo, type TempoOptions } from './kube-sim/tempo.ts';
export { startSimStage, SIM_CONTEXT, type SimStage, type SimStageOptions } from './kube-sim/start.ts';
export type { StoredEvent } from './kube-sim/store.ts';
export { simUp, simDown, simStatus, defaultSimStateDir, type SimState, type SimStatus, type SimUpOptions } from './kube-sim/detached.ts';
export { serviceMetricNames, SPAN_METRICS } from './service/metrics.ts';
