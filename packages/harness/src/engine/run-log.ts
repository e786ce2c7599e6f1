// The run log: the single append-only record of a run that measures and the evidence
// pack read. In memory for measures, and as JSON lines on disk so a crashed run's
// events survive (up to the last flush) and a person can `tail -f` it.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { RunEvent, RunLogSink } from './types.ts';

export class MemoryRunLog implements RunLogSink {
  readonly events: RunEvent[] = [];
  private readonly listeners: Array<(e: RunEvent) => void> = [];

  append(event: RunEvent): void {
    this.events.push(event);
    for (const l of this.listeners) l(event);
  }

  /** Called for every event appended from now on (progress display, stop conditions). */
  onAppend(listener: (e: RunEvent) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener) >>> 0, 1);
  }
}

/**
 * Writes JSON lines, buffered: written and fsynced when `flushEvery` events are waiting,
 * at every fault transition, on `flush()` and on `close()`. Each write is whole lines in
 * one call, so a reader tailing the file sees at most one torn last line. A SIGKILL loses
 * at most the unflushed tail.
 */
export class JsonlRunLog extends MemoryRunLog {
  private fd: number | undefined;
  private buffer: string[] = [];

  constructor(
    readonly path: string,
    private readonly flushEvery = 64,
  ) {
    super();
    this.fd = openSync(path, 'a');
  }

  override append(event: RunEvent): void {
    super.append(event);
    this.buffer.push(`${JSON.stringify(event)}\n`);
    // Fault transitions go to disk at once: they are what a post-mortem needs most.
    if (this.buffer.length >= this.flushEvery || event.kind.startsWith('fault.') || event.kind === 'run.ended') this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Reads a run log. Only the last line may be torn (the process died mid-write, or the
 * writer is still writing it): it is dropped. A bad line anywhere else is an error.
 */
export function readRunLog(path: string): RunEvent[] {
  return parseRunLog(readFileSync(path, 'utf8'), path);
}

export function parseRunLog(text: string, source = 'run log'): RunEvent[] {
  const lines = text.split('\n');
  // A complete file ends with a newline, so its last element is ''; anything else there is unfinished.
  const last = lines.length - 1;
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch (err) {
      if (i !== last) throw new Error(`${source}:${i + 1}: not a run event: ${(err as Error).message}`);
    }
  });
  return events;
}
