// The stage's own PostgreSQL cluster: initdb in a temp dir, WAL archiving on, started and
// stopped on demand (a dependency outage), and the service's migrations applied in order.
import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { childEnv } from '../proc.ts';
import { writePrivateFile } from '../secrets.ts';
import { spawnChild, stopChild, type Child } from './children.ts';

const run = promisify(execFile);

export interface PostgresPaths {
  dataDir: string;
  /** Private (0700, the server's user): no other local user reaches the unix socket. */
  socketDir: string;
  walArchive: string;
  logFile: string;
}

/** Which user runs postgres: `postgres` when we are root (it refuses root), else ourselves. */
export function postgresUser(): { user?: string; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  // uid/gid of the postgres user, for chown.
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error("running as root, but there is no 'postgres' user to run PostgreSQL as (apt-get install postgresql creates it)");
  const f = line.split(':');
  return { user: 'postgres', uid: Number(f[2]), gid: Number(f[3]) };
}

/** `postgres://postgres:<password>@127.0.0.1:<port>/<db>`, the password URL-encoded. */
export function databaseUrl(port: number, password: string, db: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
}

/**
 * A new cluster whose every connection (socket and TCP, replication included) needs the
 * superuser's password (scram-sha-256): with `trust`, any local user was superuser and could
 * run programs as the postgres user through COPY … TO PROGRAM.
 */
export async function initCluster(initdb: string, paths: PostgresPaths, opts: { port: number; archiveTimeoutMs: number; password: string }): Promise<void> {
  const who = postgresUser();
  for (const d of [paths.dataDir, paths.socketDir, paths.walArchive]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
    if (who.uid !== undefined) chownSync(d, who.uid, who.gid!);
  }
  if (who.user) {
    // The archive lives in the state dir, outside our temp dir: make sure postgres can reach it.
    try {
      await run('setpriv', [`--reuid=${who.user}`, `--regid=${who.user}`, '--init-groups', '--', 'test', '-w', paths.walArchive], { env: childEnv() });
    } catch {
      throw new Error(`the postgres user cannot write the WAL archive ${paths.walArchive}; make its parent directories traversable (chmod o+x)`);
    }
  }
  // initdb reads the password from a file (never argv, which every user can read); the
  // file sits in the private socket dir, readable by the server's user only, and goes after.
  const pwfile = join(paths.socketDir, '.initdb-pw');
  writePrivateFile(pwfile, `${opts.password}\n`);
  if (who.uid !== undefined) chownSync(pwfile, who.uid, who.gid!);
  const args = ['-D', paths.dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync'];
  try {
    if (who.user) await run('setpriv', [`--reuid=${who.user}`, `--regid=${who.user}`, '--init-groups', '--', initdb, ...args], { env: childEnv() });
    else await run(initdb, args, { env: childEnv() });
  } finally {
    rmSync(pwfile, { force: true });
  }
  const archive = paths.walArchive.replace(/'/g, "''");
  appendFileSync(
    join(paths.dataDir, 'postgresql.conf'),
    [
      '',
      '# written by the drillbook stage',
      `listen_addresses = '127.0.0.1'`,
      `password_encryption = 'scram-sha-256'`,
      `port = ${opts.port}`,
      `unix_socket_directories = '${paths.socketDir.replace(/'/g, "''")}'`,
      'wal_level = replica',
      'archive_mode = on',
      // Never overwrite an archived segment: a second copy would hide a broken archive.
      `archive_command = 'test ! -f ''${archive}/%f'' && cp %p ''${archive}/%f'''`,
      `archive_timeout = '${Math.max(1, Math.round(opts.archiveTimeoutMs / 1000))}s'`,
      'max_wal_senders = 4',
      'max_connections = 100',
      'shared_buffers = 32MB',
      `logging_collector = off`,
      '',
    ].join('\n'),
  );
}

export function startPostgres(postgres: string, paths: PostgresPaths): Child {
  return spawnChild('postgresql', postgres, ['-D', paths.dataDir], { logFile: paths.logFile, asUser: postgresUser().user });
}

/** Fast shutdown (SIGINT): rolls back open transactions and stops, like `pg_ctl -m fast`. */
export async function stopPostgres(child: Child): Promise<void> {
  await stopChild(child, 'SIGINT', 15_000);
}

export async function canQuery(url: string, timeoutMs = 1_000): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Creates the service's database when missing, then applies NNN_*.sql files not yet recorded. */
export async function migrate(adminUrl: string, serviceUrl: string, dbName: string, migrationsDir: string): Promise<string[]> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  const c = new pg.Client({ connectionString: serviceUrl });
  await c.connect();
  const applied: string[] = [];
  try {
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await c.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const files = readdirSync(migrationsDir)
      .filter((f) => /^\d+_.+\.sql$/.test(f))
      .sort();
    for (const file of files) {
      const version = file.split('_')[0]!;
      if (done.has(version)) continue;
      await c.query('BEGIN');
      try {
        await c.query(readFileSync(join(migrationsDir, file), 'utf8'));
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await c.end();
  }
  return applied;
}
