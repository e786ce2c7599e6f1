// Every PostgreSQL connection the harness opens goes through here. Drills break databases on
// purpose, and a pg client whose server dies emits 'error' (e.g. 57P01, "terminating
// connection due to unexpected postmaster exit"); with no listener that is an uncaught
// exception, which would take the harness down in the middle of the fault it must revert.
// The failure still reaches the caller through the query or connect that was running.
import pg from 'pg';

export type PgClientOptions = Omit<pg.ClientConfig, 'connectionString'>;

export function pgClient(url: string, options: PgClientOptions = {}): pg.Client {
  const client = new pg.Client({ ...options, connectionString: url });
  client.on('error', () => {});
  return client;
}
