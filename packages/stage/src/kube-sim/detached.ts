// The simulation as a background service (what `drill sim up|down|status` runs on): simUp
// spawns kube-sim/main.ts detached, which starts the stage and the simulated API server and
// records itself in <stateDir>/sim.json (0600); simDown stops it (and whatever a crashed one
// left); simStatus says whether it runs and where.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { nodeArgsFor, packageDir } from '../node-entry.ts';
import { EnvironmentError } from '../binaries.ts';
import { childEnv, isAlive, startTimeOf, waitUntil } from '../proc.ts';
import { privateDir, randomSecret, writePrivateFile } from '../secrets.ts';
import { cleanupStaleStage } from '../state.ts';
import type { SimStageOptions } from './start.ts';

const repoRoot = resolve(packageDir, '..', '..');
export const defaultSimStateDir = (): string => join(repoRoot, '.drillbook', 'sim');

/** What <stateDir>/sim.json records (no secret: the kubeconfig, 0600, holds the token). */
export interface SimState {
  version: 1;
  pid: number;
  /** /proc start time: a different value means the pid was reused. */
  startTime?: string;
  startedAt: string;
  url: string;
  kubeconfigPath: string;
  stageStateDir: string;
}

/** Options of a detached simulation: those of startSimStage that survive JSON, the paths defaulted. */
export type SimUpOptions = Omit<SimStageOptions, 'log' | 'validate' | 'runTestRun' | 'kubeconfigPath' | 'stateDir'> & {
  /** Where sim.json, sim.log and the stage's own state dir live (default <repo>/.drillbook/sim). */
  stateDir?: string;
  /** Default <stateDir>/kubeconfig. */
  kubeconfigPath?: string;
};

/** What main.ts is handed, through a 0600 file it reads and removes. */
export interface SimMainOptions extends Omit<SimStageOptions, 'log' | 'validate' | 'runTestRun'> {
  simStateDir: string;
}

export const simStateFile = (stateDir: string) => join(stateDir, 'sim.json');

export function readSimState(stateDir: string): SimState | undefined {
  try {
    return JSON.parse(readFileSync(simStateFile(stateDir), 'utf8')) as SimState;
  } catch {
    return undefined;
  }
}

const running = (s: SimState | undefined): s is SimState => !!s && isAlive(s.pid) && (s.startTime === undefined || startTimeOf(s.pid) === s.startTime);

export interface SimStatus {
  running: boolean;
  state?: SimState;
}

export function simStatus(stateDir: string = defaultSimStateDir()): SimStatus {
  const state = readSimState(resolve(stateDir));
  return running(state) ? { running: true, state } : { running: false };
}

/** Starts the simulation in the background; resolves once its API server answers. `alreadyRunning` when one was. */
export async function simUp(opts: SimUpOptions = {}): Promise<SimState & { alreadyRunning: boolean }> {
  const stateDir = privateDir(resolve(opts.stateDir ?? defaultSimStateDir()));
  const existing = readSimState(stateDir);
  if (running(existing)) return { ...existing, alreadyRunning: true };
  if (existing) await simDown(stateDir); // a crashed one's leftovers
  const { stateDir: _s, kubeconfigPath, ...rest } = opts;
  const mainOptions: SimMainOptions = {
    ...rest,
    simStateDir: stateDir,
    stateDir: join(stateDir, 'stage'),
    kubeconfigPath: resolve(kubeconfigPath ?? join(stateDir, 'kubeconfig')),
  };
  const optionsFile = join(stateDir, `sim-options.${randomSecret(6)}.json`);
  writePrivateFile(optionsFile, JSON.stringify(mainOptions));
  const logFd = openSync(join(stateDir, 'sim.log'), 'a', 0o600);
  const child = spawn(process.execPath, nodeArgsFor('kube-sim/main'), {
    cwd: repoRoot,
    env: childEnv({ DRILLBOOK_SIM_OPTIONS_FILE: optionsFile }),
    stdio: ['ignore', logFd, logFd, 'pipe'],
    detached: true,
  });
  closeSync(logFd);
  const channel = child.stdio[3] as NodeJS.ReadableStream;
  try {
    const state = await new Promise<SimState>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`the simulation did not start within 180 s; see ${join(stateDir, 'sim.log')}`)), 180_000);
      createInterface({ input: channel }).on('line', (line) => {
        let m: { type: string; state?: SimState; message?: string; environment?: boolean };
        try {
          m = JSON.parse(line);
        } catch {
          return;
        }
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolveReady(m.state!);
        } else if (m.type === 'error') {
          clearTimeout(timer);
          reject(m.environment ? new EnvironmentError(m.message!) : new Error(`the simulation did not start: ${m.message}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the simulation exited during start-up (${signal ?? `code ${code}`}); see ${join(stateDir, 'sim.log')}`));
      });
    });
    return { ...state, alreadyRunning: false };
  } catch (err) {
    rmSync(optionsFile, { force: true });
    if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGTERM');
    await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 30_000);
    await cleanupStaleStage(join(stateDir, 'stage'));
    throw err;
  } finally {
    (channel as unknown as { destroy(): void }).destroy();
    child.unref();
  }
}

/** Stops the simulation (SIGTERM, then SIGKILL after 30 s) and whatever of its stage is left. */
export async function simDown(stateDir: string = defaultSimStateDir()): Promise<{ stopped: boolean }> {
  const dir = resolve(stateDir);
  const state = readSimState(dir);
  if (!state) return { stopped: false };
  let stopped = false;
  if (running(state)) {
    process.kill(state.pid, 'SIGTERM');
    if (!(await waitUntil(() => !isAlive(state.pid), 30_000, 50))) process.kill(state.pid, 'SIGKILL');
    stopped = true;
  }
  await cleanupStaleStage(state.stageStateDir);
  rmSync(simStateFile(dir), { force: true });
  // Ours only: a kubeconfig written elsewhere at the caller's request is left alone.
  if (dirname(resolve(state.kubeconfigPath)) === dir) rmSync(state.kubeconfigPath, { force: true });
  return { stopped };
}
