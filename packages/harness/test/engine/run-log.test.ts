// The run log on disk: whole lines, readable while written, a torn tail forgiven.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlRunLog, MemoryRunLog, readRunLog } from '../../src/engine/run-log.ts';
import type { RunEvent } from '../../src/engine/types.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drillbook-runlog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const probeAt = (t: number): RunEvent => ({ t, kind: 'probe', probe: 'ready', ok: true, started: t - 5, latencyMs: 5 });

describe('run log', () => {
  it('writes one event per line, appending, and reads back what a reader sees mid-run', () => {
    const path = join(dir, 'run.jsonl');
    const log = new JsonlRunLog(path, 3);
    log.append({ t: 1, kind: 'run.started', runId: 'run-x', drill: 'd', environment: 'local', clock: 'virtual' });
    log.append(probeAt(2));
    // Buffered: not on disk until 3 are waiting or a fault transition comes.
    expect(readRunLog(path)).toEqual([]);
    log.append({ t: 3, kind: 'fault.injecting', faultId: 'f1', phase: 'p', provider: 'memory', fault: { kind: 'pod-kill', target: 'api' } });
    expect(readRunLog(path).map((e) => e.kind)).toEqual(['run.started', 'probe', 'fault.injecting']);
    log.append(probeAt(4));
    log.flush();
    expect(readRunLog(path)).toHaveLength(4);
    log.close();
    // A second writer appends to the same file rather than truncating it.
    const again = new JsonlRunLog(path);
    again.append(probeAt(5));
    again.close();
    const events = readRunLog(path);
    expect(events.map((e) => e.t)).toEqual([1, 2, 3, 4, 5]);
    expect(events).toEqual(log.events.concat(again.events));
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
  });

  it('drops a torn last line and refuses a damaged line elsewhere', () => {
    const path = join(dir, 'torn.jsonl');
    writeFileSync(path, `${JSON.stringify(probeAt(1))}\n${JSON.stringify(probeAt(2))}\n`);
    appendFileSync(path, JSON.stringify(probeAt(3)).slice(0, 17)); // the crash came mid-write
    expect(readRunLog(path).map((e) => e.t)).toEqual([1, 2]);
    writeFileSync(path, `${JSON.stringify(probeAt(1))}\n{"t":2,"ki\n${JSON.stringify(probeAt(3))}\n`);
    expect(() => readRunLog(path)).toThrow(/torn\.jsonl:2: not a run event/);
  });

  it('tells listeners about every event in memory', () => {
    const log = new MemoryRunLog();
    const seen: number[] = [];
    const off = log.onAppend((e) => seen.push(e.t));
    log.append(probeAt(1));
    off();
    log.append(probeAt(2));
    expect(seen).toEqual([1]);
    expect(log.events).toHaveLength(2);
  });
});
