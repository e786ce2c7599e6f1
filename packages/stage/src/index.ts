// Library API of the local stage: start it (with a lifeline to the caller), stop it, clean up
// after a crashed one, and the `drill stage up|down|status` command.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError, stageBinaries } from './binaries.ts';
import { isAlive, waitUntil } from './proc.ts';
import { cleanupStaleStage as cleanupIn, readState, sameProcess, type StageState, type StageUrls } from './state.ts';
import type { ComponentStatus } from './host/control.ts';
import type { HostOptions } from './host/main.ts';

export { EnvironmentError } from './binaries.ts';
export { FaultProxy, type ProxyEffects } from './fault-proxy.ts';
export type { ComponentStatus, ReplicaInfo } from './host/control.ts';
export type { StageState } from './state.ts';
export { ownStateDir } from './state.ts';

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
  /** OTLP/HTTP traces endpoint for the service (…/v1/traces); no tracing when unset. */
  otlpTracesUrl?: string;
  /** Faro collector URL the web page reports to. */
  faroCollectorUrl?: string;
  /** More Prometheus scrape jobs (`host:port`, path /metrics), e.g. the harness's fault gauges. */
  extraScrapeTargets?: Array<{ job: string; target: string }>;
  /** PostgreSQL archive_timeout in ms (default 10000; rounded to whole seconds). */
  archiveTimeout?: number;
  /** Where stage.json and the WAL archive live (default <repo>/.drillbook/stage). */
  stateDir?: string;
  /** Start without a lifeline: the stage outlives the caller until `down` (what `stage up` does). */
  detached?: boolean;
  /** Extra environment for the replicas. */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Stage {
  urls: StageUrls;
  paths: { stateDir: string; dataDir: string; walArchive: string; pgBin: string };
  readyInMs: number;
  status(): Promise<ComponentStatus[]>;
  stop(): Promise<void>;
}

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(packageDir, '..', '..');
export const defaultStateDir = (): string => join(repoRoot, '.drillbook', 'stage');

/** Kills whatever a previous (crashed) stage left and removes its temp dirs. */
export function cleanupStaleStage(stateDir: string = defaultStateDir()): Promise<{ killed: number; removed: string[] }> {
  return cleanupIn(stateDir);
}

/** The last lines of a log, for an error message (the file may be cleaned up after). */
function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n');
  } catch {
    return '  (no log)';
  }
}

async function fetchStatus(controlUrl: string): Promise<ComponentStatus[]> {
  const res = await fetch(new URL('/status', controlUrl), { signal: AbortSignal.timeout(10_000) });
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
  return {
    urls: state.urls!,
    paths: state.paths!,
    readyInMs: state.readyInMs!,
    status: () => fetchStatus(state.urls!.control),
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
  if (stale.killed || stale.removed.length) options.log?.(`cleaned up a previous stage: ${stale.killed} process groups killed, ${stale.removed.length} temp dirs removed`);
  const hostOptions: HostOptions = {
    replicas: options.replicas ?? 2,
    restartDelay: options.restartDelay ?? 1_000,
    scrapeInterval: options.scrapeInterval ?? 1_000,
    evaluationInterval: options.evaluationInterval ?? 1_000,
    rulesDir: options.rulesDir,
    alertWebhookUrl: options.alertWebhookUrl,
    otlpTracesUrl: options.otlpTracesUrl,
    faroCollectorUrl: options.faroCollectorUrl,
    extraScrapeTargets: options.extraScrapeTargets,
    archiveTimeout: options.archiveTimeout ?? 10_000,
    stateDir,
    lifeline: !options.detached,
    env: options.env ?? {},
  };
  const { openSync, closeSync, mkdirSync } = await import('node:fs');
  mkdirSync(stateDir, { recursive: true });
  const logFd = openSync(join(stateDir, 'host.log'), 'a');
  const host = spawn(process.execPath, ['--import', 'tsx', join(packageDir, 'src', 'host', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, DRILLBOOK_STAGE_OPTIONS: JSON.stringify(hostOptions) },
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
    host.once('exit', (code, signal) => reject(new Error(`the stage host exited during start-up (${signal ?? `code ${code}`}); the end of ${join(stateDir, 'host.log')}:\n${tailOf(join(stateDir, 'host.log'), 20)}`)));
  }).catch(async (err: unknown) => {
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
  const w = Math.max(...components.map((c) => c.name.length));
  for (const c of components) {
    out(`${c.healthy ? 'healthy  ' : 'UNHEALTHY'}  ${c.name.padEnd(w)}  pid ${String(c.pid ?? '-').padEnd(7)} port ${String(c.port ?? '-').padEnd(5)}  ${c.detail ?? c.url ?? ''}`.trimEnd() + '\n');
  }
}

const USAGE = 'usage: drill stage up|down|status [--json] [--replicas N] [--restart-delay MS] [--state-dir DIR]\n';

export async function runStageCommand(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const [cmd, ...rest] = argv;
  const json = rest.includes('--json');
  const flag = (name: string): string | undefined => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const stateDir = resolve(flag('--state-dir') ?? defaultStateDir());
  try {
    switch (cmd) {
      case 'up': {
        const existing = runningStage(stateDir);
        if (existing) {
          io.err(`a stage is already running (control ${existing.urls.control}); run 'drill stage down' first\n`);
          return 1;
        }
        const replicas = flag('--replicas');
        const restartDelay = flag('--restart-delay');
        const stage = await startStage({
          stateDir,
          detached: true,
          replicas: replicas ? Number(replicas) : undefined,
          restartDelay: restartDelay ? Number(restartDelay) : undefined,
        });
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
        io.err(USAGE);
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
