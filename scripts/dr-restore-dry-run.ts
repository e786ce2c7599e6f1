#!/usr/bin/env zx
// The seeds' DR dry run: the DR drill's restore (base backup + archived WAL replayed to the latest
// point) as a standalone zx script, run into a scratch data directory so the primary is never
// touched. It proves the backup and the archive restore, and says how long each step took and how
// far behind the primary the restored copy is (rows per table).
//
//   DATABASE_URL=postgres://… WAL_ARCHIVE=/path/to/archive PG_BIN=/usr/lib/postgresql/16/bin \
//     npx zx --import tsx scripts/dr-restore-dry-run.ts
//
// BACKUP_DIR: an existing base backup to restore from; without it a fresh one is taken with
// pg_basebackup (then the dry run checks the archive from that backup on). Exit 0: restored and
// writable; 1: the restore failed (the log says where); 2: bad input.
import { $, echo, fs, path } from 'zx';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import pg from 'pg';

$.verbose = false;
const fail = (code: number, message: string): never => {
  echo(`dr-restore-dry-run: ${message}`);
  process.exit(code);
};

const primaryUrl = process.env.DRILLBOOK_TARGET_URL ?? process.env.DATABASE_URL;
if (!primaryUrl || !/^postgres(ql)?:\/\//.test(primaryUrl)) fail(2, 'give the primary as DATABASE_URL (postgres://…)');
const archive = process.env.WAL_ARCHIVE;
if (!archive || !fs.existsSync(archive)) fail(2, `WAL_ARCHIVE must be the WAL archive directory (got ${archive ?? 'nothing'})`);
const pgBin = process.env.PG_BIN ?? (await $`pg_config --bindir`.nothrow()).stdout.trim();
if (!pgBin || !fs.existsSync(path.join(pgBin, 'pg_ctl'))) fail(2, 'PG_BIN must be the directory holding pg_ctl and pg_basebackup');

// PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
const asRoot = process.getuid?.() === 0;
const asPostgres = (cmd: string[]) => (asRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Row counts of the user tables (the 20 largest): how far the restored copy is behind. */
async function rowCounts(url: string): Promise<Map<string, number>> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    const tables = await c.query<{ t: string }>("SELECT format('%I.%I', schemaname, relname) AS t FROM pg_stat_user_tables ORDER BY n_live_tup DESC LIMIT 20");
    const out = new Map<string, number>();
    for (const { t } of tables.rows) out.set(t, Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n));
    return out;
  } finally {
    await c.end();
  }
}

const scratch = mkdtempSync(path.join(tmpdir(), 'dr-dry-run-'));
const dataDir = path.join(scratch, 'data');
const t0 = Date.now();
const step = (name: string, since: number) => echo(`  ${name}: ${((Date.now() - since) / 1000).toFixed(1)} s`);
let started = false;
try {
  echo(`dr-restore-dry-run: restoring into ${dataDir} (the primary is not touched)`);
  const url = new URL(primaryUrl!);
  const backupDir = process.env.BACKUP_DIR;
  let t = Date.now();
  if (backupDir) await fs.copy(backupDir, dataDir);
  else {
    const password = decodeURIComponent(url.password);
    const noPassword = new URL(url);
    noPassword.password = '';
    // The password goes in the child's environment, never its argv (world-readable in /proc).
    await $({
      env: { ...process.env, PGPASSWORD: password },
    })`${path.join(pgBin, 'pg_basebackup')} -D ${dataDir} -d ${noPassword.toString()} -X stream -c fast --no-sync`;
  }
  step(backupDir ? `base backup copied from ${backupDir}` : 'base backup taken (pg_basebackup)', t);

  // Recovery from the archive; the copy must never archive into the primary's archive, nor listen beyond loopback.
  const port = await freePort();
  await fs.writeFile(path.join(dataDir, 'recovery.signal'), '');
  const quoted = archive!.replace(/'/g, "''");
  await fs.appendFile(
    path.join(dataDir, 'postgresql.auto.conf'),
    `\n# dr-restore-dry-run\nrestore_command = 'cp ''${quoted}/%f'' %p'\nrecovery_target_timeline = 'latest'\narchive_mode = off\n` +
      `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${scratch.replace(/'/g, "''")}'\n`,
  );
  await fs.remove(path.join(dataDir, 'postmaster.pid'));
  await fs.chmod(dataDir, 0o700);
  if (asRoot) await $`chown -R postgres:postgres ${scratch}`;

  t = Date.now();
  const log = path.join(scratch, 'postgres.log');
  const startCmd = asPostgres([path.join(pgBin, 'pg_ctl'), '-D', dataDir, '-l', log, '-w', '-t', '300', 'start']);
  const start = await $`${startCmd}`.nothrow();
  if (start.exitCode !== 0)
    throw new Error(`the restored copy did not start:\n${(await fs.readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`);
  started = true;
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const restoredUrl = url.toString();
  // Replay ends when the archive runs out; the copy then leaves recovery and takes writes.
  const deadline = Date.now() + 300_000;
  for (;;) {
    const c = new pg.Client({ connectionString: restoredUrl, connectionTimeoutMillis: 2_000 });
    const inRecovery = await c
      .connect()
      .then(() => c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))
      .then((r) => r.rows[0]!.r)
      .catch(() => undefined)
      .finally(() => c.end().catch(() => {}));
    if (inRecovery === false) break;
    if (Date.now() > deadline) throw new Error('WAL replay did not finish within 5 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
  step('started and WAL replayed to the latest archived point', t);

  const [primary, restored] = await Promise.all([rowCounts(primaryUrl!), rowCounts(restoredUrl)]);
  for (const [table, n] of primary) {
    const r = restored.get(table) ?? 0;
    echo(`  ${table}: ${r} of ${n} rows${n > r ? ` (${n - r} behind the primary)` : ''}`);
  }
  echo(`dr-restore-dry-run: restored and writable in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (err) {
  echo(`dr-restore-dry-run: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  if (started) await $`${asPostgres([path.join(pgBin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop'])}`.nothrow();
  await fs.remove(scratch);
}
