// The DR drill's heartbeat writer: commits a numbered row at a fixed interval and keeps
// the moment each commit was acknowledged, so RPO is measured from what the database
// promised, not guessed. While the database is down it keeps trying; failed attempts
// were never acknowledged and so cannot be "lost".
import type pg from 'pg';
import { pgClient } from '../observe/pg-client.ts';
import type { Clock, RunLogSink } from '../engine/types.ts';
import type { BackgroundTask } from '../engine/timeline.ts';
import type { HeartbeatAck } from '../measure/restore.ts';

export const HEARTBEAT_TABLE = 'drill_heartbeat';

export class HeartbeatWriter implements BackgroundTask {
  readonly name = 'heartbeat';
  readonly acks: HeartbeatAck[] = [];
  private controller = new AbortController();
  private loop: Promise<void> | undefined;
  private seq = 0;

  constructor(
    private readonly databaseUrl: string,
    private readonly everyMs: number,
    private readonly clock: Clock,
  ) {}

  async prepare(): Promise<void> {
    const c = pgClient(this.databaseUrl);
    await c.connect();
    try {
      await c.query(`create table if not exists ${HEARTBEAT_TABLE} (seq bigint primary key, written_at timestamptz not null default clock_timestamp())`);
      const max = await c.query(`select coalesce(max(seq), 0) as m from ${HEARTBEAT_TABLE}`);
      this.seq = Number(max.rows[0].m);
    } finally {
      await c.end();
    }
  }

  start(_sink: RunLogSink): void {
    const signal = this.controller.signal;
    this.loop = (async () => {
      let client: pg.Client | undefined;
      while (!signal.aborted) {
        const next = this.clock.now() + this.everyMs;
        try {
          if (!client) {
            client = pgClient(this.databaseUrl, { connectionTimeoutMillis: 500, query_timeout: 1_000 });
            await client.connect();
          }
          const seq = this.seq + 1;
          await client.query(`insert into ${HEARTBEAT_TABLE} (seq) values ($1)`, [seq]);
          this.seq = seq;
          this.acks.push({ seq, ackedAt: this.clock.now() });
        } catch {
          await client?.end().catch(() => {});
          client = undefined;
        }
        await this.clock.sleep(Math.max(0, next - this.clock.now()), signal).catch(() => {});
      }
      await client?.end().catch(() => {});
    })();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  /** Sequence numbers present in the database now. */
  async surviving(): Promise<Set<number>> {
    const c = pgClient(this.databaseUrl);
    await c.connect();
    try {
      const r = await c.query(`select seq from ${HEARTBEAT_TABLE}`);
      return new Set(r.rows.map((row: { seq: string }) => Number(row.seq)));
    } finally {
      await c.end();
    }
  }
}
