// Scheduled drills in-process: each named drill on its cron expression (croner), never
// two runs of one drill at once (a tick that finds the previous run still going is a
// missed run, reported — not queued), each run writing its own record.
import { Cron } from 'croner';

export interface ScheduledDrill {
  /** A stable name for the schedule entry (usually the drill file). */
  name: string;
  cron: string;
}

export type ScheduleEvent =
  | { kind: 'started'; drill: string; at: number }
  | { kind: 'finished'; drill: string; at: number; exitCode: number; summary: string }
  | { kind: 'missed'; drill: string; at: number; reason: string }
  | { kind: 'failed'; drill: string; at: number; error: string };

export class DrillScheduler {
  private readonly jobs: Cron[] = [];
  private readonly running = new Map<string, Promise<void>>();
  readonly events: ScheduleEvent[] = [];

  constructor(
    private readonly run: (drill: string) => Promise<{ exitCode: number; summary: string }>,
    private readonly onEvent: (e: ScheduleEvent) => void = () => {},
  ) {}

  private record(e: ScheduleEvent): void {
    this.events.push(e);
    this.onEvent(e);
  }

  add(entry: ScheduledDrill): void {
    const job = new Cron(
      entry.cron,
      {
        name: entry.name,
        // croner's own overlap guard: a tick while the last run is still going is reported missed.
        protect: () => this.record({ kind: 'missed', drill: entry.name, at: Date.now(), reason: 'the previous run of this drill was still going' }),
      },
      async () => {
        const p = (async () => {
          this.record({ kind: 'started', drill: entry.name, at: Date.now() });
          try {
            const r = await this.run(entry.name);
            this.record({ kind: 'finished', drill: entry.name, at: Date.now(), exitCode: r.exitCode, summary: r.summary });
          } catch (err) {
            this.record({ kind: 'failed', drill: entry.name, at: Date.now(), error: (err as Error).message });
          }
        })();
        this.running.set(entry.name, p);
        await p;
        this.running.delete(entry.name);
      },
    );
    this.jobs.push(job);
  }

  nextRuns(): Array<{ drill: string; next: Date | null }> {
    return this.jobs.map((j) => ({ drill: j.name ?? '?', next: j.nextRun() }));
  }

  /** Stops scheduling and waits for runs in progress to end. */
  async stop(): Promise<void> {
    for (const j of this.jobs) j.stop();
    await Promise.allSettled([...this.running.values()]);
  }
}
