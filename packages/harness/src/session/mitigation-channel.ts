// How `drill mitigate` in another terminal reaches a running drill: a JSON-lines file
// .drillbook/runs/<runId>.mitigations that the run creates (its first line names the run and its
// process), the command appends to, and the run reads while a fault waits for mitigation.
// The file goes away when the run ends; what was marked is in the run log by then.
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcessRunning, processStartTime } from '../engine/process-identity.ts';

export interface ChannelHeader {
  kind: 'open';
  runId: string;
  drill: string;
  pid: number;
  startTime?: number;
  /** Phases that wait for mitigation. */
  phases: string[];
}

/** One person's mark: the moment they mitigated, what they did, and whether the harness should revert. */
export interface MitigationMark {
  kind: 'mitigate';
  /** Wall time of the mark (the run's clock is wall time too). */
  t: number;
  note: string;
  revert: boolean;
  /** Only this phase's fault; default: whichever waits now. */
  phase?: string;
}

export const runsDir = (projectRoot: string) => join(projectRoot, '.drillbook', 'runs');
export const channelPath = (projectRoot: string, runId: string) => join(runsDir(projectRoot), `${runId}.mitigations`);

/** Opens the channel of a run; `close` removes it. */
export function openMitigationChannel(projectRoot: string, header: Omit<ChannelHeader, 'kind' | 'pid' | 'startTime'>): { file: string; close: () => void } {
  const file = channelPath(projectRoot, header.runId);
  const startTime = processStartTime(process.pid);
  const line: ChannelHeader = { kind: 'open', ...header, pid: process.pid, ...(startTime !== undefined ? { startTime } : {}) };
  writeFileSync(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  return { file, close: () => rmSync(file, { force: true }) };
}

function headerOf(file: string): ChannelHeader | undefined {
  try {
    const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
    const h = JSON.parse(first) as ChannelHeader;
    return h.kind === 'open' && typeof h.runId === 'string' && typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The channel of the run to mark: `runId`'s, or the newest one whose harness still runs. Throws
 * an error that says what to do when there is none.
 */
export function findMitigationChannel(projectRoot: string, runId?: string): { file: string; header: ChannelHeader } {
  const dir = runsDir(projectRoot);
  if (runId !== undefined) {
    const file = channelPath(projectRoot, runId);
    const header = existsSync(file) ? headerOf(file) : undefined;
    if (!header) throw new Error(`run ${runId} does not wait for a mitigation (no ${file}): is it running, and does a phase have until: 'mitigated'?`);
    if (!isSameProcessRunning(header.pid, header.startTime)) throw new Error(`run ${runId} is no longer running (its harness, pid ${header.pid}, is gone)`);
    return { file, header };
  }
  const open = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((n) => n.endsWith('.mitigations'))
    .map((n) => ({ file: join(dir, n), header: headerOf(join(dir, n)), mtime: statSync(join(dir, n)).mtimeMs }))
    .filter(
      (c): c is { file: string; header: ChannelHeader; mtime: number } => c.header !== undefined && isSameProcessRunning(c.header.pid, c.header.startTime),
    )
    .sort((a, b) => b.mtime - a.mtime);
  const newest = open[0];
  if (!newest) throw new Error(`no running drill under ${dir} waits for a mitigation: start one whose phase has until: 'mitigated', or pass --run <id>`);
  return { file: newest.file, header: newest.header };
}

export function appendMitigation(file: string, mark: Omit<MitigationMark, 'kind'>): void {
  appendFileSync(file, `${JSON.stringify({ kind: 'mitigate', ...mark })}\n`);
}

/** Marks appended at or after byte `offset`; returns them and the offset to read from next (whole lines only). */
export function readMarks(file: string, offset: number): { marks: MitigationMark[]; offset: number } {
  let text: string;
  try {
    const buf = readFileSync(file);
    text = buf.subarray(offset).toString('utf8');
  } catch {
    return { marks: [], offset };
  }
  const end = text.lastIndexOf('\n');
  if (end < 0) return { marks: [], offset };
  const marks: MitigationMark[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    try {
      const m = JSON.parse(line) as MitigationMark;
      if (m.kind === 'mitigate' && typeof m.t === 'number' && typeof m.note === 'string') marks.push({ ...m, revert: m.revert === true });
    } catch {
      // a torn or foreign line: not a mark
    }
  }
  return { marks, offset: offset + Buffer.byteLength(text.slice(0, end + 1)) };
}

/** Current size of the channel, to read only what comes after. */
export function channelSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
