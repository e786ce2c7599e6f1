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
 * Writes JSON lines, buffered: flushed when `flushEvery` events are waiting, on
 * `flush()`, and fsynced on `close()`. A SIGKILL loses at most the unflushed tail.
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
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a run log; a torn last line (the process died mid-write) is dropped, not an error. */
export function readRunLog(path: string): RunEvent[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch (err) {
      if (i < lines.length - 2) throw new Error(`${path}:${i + 1}: not a run event: ${(err as Error).message}`);
    }
  });
  return events;
}
