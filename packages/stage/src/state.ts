// The stage's state file (<stateDir>/stage.json): every process group and temp dir the host
// started, so the next `up` (or cleanupStaleStage) can remove what a crashed stage left.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupAlive, killGroup, startTimeOf, waitUntil } from './proc.ts';
import { privateDir, writePrivateFile, type BasicAuth } from './secrets.ts';
import type { HistoryFacts } from './host/history.ts';

export interface ProcessRecord {
  name: string;
  pid: number;
  /** Process group; equals pid since every child is started detached. */
  pgid: number;
  /** /proc start time when recorded: a different value means the pid was reused. */
  startTime?: string;
}

export interface StageUrls {
  service: string;
  prometheus: string;
  alertmanager: string;
  control: string;
  database: string;
  databaseViaProxy: string;
  replicas: string[];
}

/** Credentials of one stage, made by its host at start-up; only the state file (0600) and the handle hold them. */
export interface StageSecrets {
  /** Bearer token of the control API. */
  controlToken: string;
  prometheus: BasicAuth;
  alertmanager: BasicAuth;
}

export interface StageState {
  version: 1;
  hostPid: number;
  startedAt: string;
  ready: boolean;
  readyInMs?: number;
  urls?: StageUrls;
  paths?: { stateDir: string; dataDir: string; walArchive: string; pgBin: string };
  processes: ProcessRecord[];
  tempDirs: string[];
  secrets?: StageSecrets;
  /** Prometheus's global.external_labels: every alert of this stage carries them. */
  externalLabels?: Record<string, string>;
  /** Name of Alertmanager's webhook receiver (empty when no webhook was asked for). */
  alertReceiver?: string;
  /** The synthetic history written into Prometheus before it started, if any. */
  history?: HistoryFacts;
}

export const stateFile = (stateDir: string): string => join(stateDir, 'stage.json');

export function readState(stateDir: string): StageState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(stateDir), 'utf8')) as StageState;
  } catch {
    return undefined;
  }
}

/** Atomic write (rename), so a crash never leaves half a state file; 0600 in a 0700 dir: it holds the stage's secrets. */
export function writeState(stateDir: string, state: StageState): void {
  privateDir(stateDir);
  writePrivateFile(stateFile(stateDir), JSON.stringify(state, null, 2));
}

/**
 * The control token of the stage whose control API is at `controlUrl`, from the state files
 * in `dirs` and their subdirectories (owned stage dirs); undefined when none matches.
 */
export function controlTokenFromStateDirs(controlUrl: string, dirs: string[]): string | undefined {
  const origin = new URL(controlUrl).origin;
  const candidates = dirs.flatMap((d) => {
    let subs: string[] = [];
    try {
      subs = readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(d, e.name));
    } catch {
      // missing or unreadable: nothing to find there
    }
    return [d, ...subs];
  });
  for (const dir of candidates) {
    const s = readState(dir);
    if (s?.urls?.control && s.secrets && new URL(s.urls.control).origin === origin) return s.secrets.controlToken;
  }
  return undefined;
}

export function removeState(stateDir: string): void {
  rmSync(stateFile(stateDir), { force: true });
}

/** True when the recorded process is still the one we started (not a reused pid). */
export function sameProcess(rec: ProcessRecord): boolean {
  const now = startTimeOf(rec.pid);
  if (now === undefined) return false;
  return rec.startTime === undefined || rec.startTime === now;
}

/**
 * Kills every process group recorded in the state file (the host first, so it cannot
 * restart replicas) and removes the temp dirs and the state file.
 */
export async function cleanupStaleStage(stateDir: string): Promise<{ killed: number; removed: string[] }> {
  const state = readState(stateDir);
  if (!state) return { killed: 0, removed: [] };
  let killed = 0;
  // A leader whose pid now belongs to another program is left alone; a group whose
  // leader is gone but whose members live on is still ours.
  const groups = state.processes.filter((p) => sameProcess(p) || (startTimeOf(p.pid) === undefined && groupAlive(p.pgid)));
  for (const p of groups) if (killGroup(p.pgid, 'SIGKILL')) killed++;
  await waitUntil(() => groups.every((p) => !groupAlive(p.pgid)), 5_000);
  const removed: string[] = [];
  for (const dir of state.tempDirs) {
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  removeState(stateDir);
  return { killed, removed };
}

const OWNER_FILE = 'owner.json';
let ownedDirs = 0;

/**
 * A state dir of this process's own under `parent`, so several callers (a scheduler running
 * two drills, two test files) each get a stage without stopping another's. Dirs whose owner
 * process is gone are cleaned up (processes killed, temp dirs removed) on the way.
 */
export async function ownStateDir(parent: string): Promise<{ dir: string; swept: number }> {
  mkdirSync(parent, { recursive: true });
  let swept = 0;
  // A stage recorded in `parent` itself is `drill stage up`'s (or an older layout's): left alone
  // while its host runs, cleaned up once the host is gone.
  const direct = readState(parent);
  const directHost = direct?.processes.find((p) => p.name === 'host');
  if (direct && !(directHost && sameProcess(directHost))) {
    await cleanupStaleStage(parent);
    swept++;
  }
  for (const name of readdirSync(parent)) {
    const dir = join(parent, name);
    let owner: ProcessRecord | undefined;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as ProcessRecord;
    } catch {
      continue; // not an owned stage dir
    }
    if (sameProcess(owner)) continue;
    await cleanupStaleStage(dir);
    rmSync(dir, { recursive: true, force: true });
    swept++;
  }
  const dir = join(parent, `${process.pid}-${Date.now().toString(36)}-${++ownedDirs}`);
  privateDir(dir);
  const me: ProcessRecord = { name: 'owner', pid: process.pid, pgid: process.pid, startTime: startTimeOf(process.pid) };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(me));
  return { dir, swept };
}
