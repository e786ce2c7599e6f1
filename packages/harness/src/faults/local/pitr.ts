// Data loss and point-in-time restore of the stage's PostgreSQL (the DR drill):
//   inject  = the server is SIGKILLed and its data directory destroyed (no checkpoint,
//             no last archive: what a lost disk looks like);
//   revert  = the restore: the base backup copied back, `recovery.signal` and a
//             restore_command reading the WAL archive, the server started, and WAL
//             replayed to the latest archived point until it leaves recovery.
// Each step is marked in the run log so RTO can be broken down.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv } from '@drillbook/stage';
import { pgClient } from '../../observe/pg-client.ts';
import type { EnvironmentConfig } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, RevertRecord } from '../../engine/types.ts';
import { stageControl } from './stage-control.ts';
import { requireLocalTarget } from './targets.ts';
import { waitFor } from './os-process.ts';

interface PitrData {
  controlUrl: string;
  databaseUrl: string;
  dataDir: string;
  walArchive: string;
  backupDir: string;
  [k: string]: unknown;
}

/** uid:gid of the postgres user when we are root (the stage runs the server as it), else undefined. */
function postgresOwner(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => execFileSync('id', [flag, 'postgres'], { env: childEnv() }).toString().trim();
    return `${id('-u')}:${id('-g')}`;
  } catch {
    return undefined;
  }
}

async function inRecovery(url: string): Promise<boolean | undefined> {
  const c = pgClient(url, { connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    return (await c.query('select pg_is_in_recovery() as r')).rows[0].r as boolean;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Takes the base backup the restore will start from (pg_basebackup, WAL streamed alongside). */
export function takeBaseBackup(pgBin: string, databaseUrl: string, backupDir: string): void {
  rmSync(backupDir, { recursive: true, force: true });
  // The password goes in the child's environment (readable by our uid only), never its argv
  // (world-readable in /proc/<pid>/cmdline) and never our own environment.
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  execFileSync(join(pgBin, 'pg_basebackup'), ['-D', backupDir, '-d', url.toString(), '-X', 'stream', '-c', 'fast', '--no-sync'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: childEnv(password ? { PGPASSWORD: password } : {}),
  });
}

export const pitrProvider: FaultProvider = {
  name: 'local-postgres-pitr',

  supports(fault, env: EnvironmentConfig) {
    return env.kind === 'local' && fault.kind === 'data-loss';
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const target = requireLocalTarget(ctx.resolveTarget, (fault as { target: string }).target);
    if (target.kind !== 'stage-database' || !target.paths) throw new Error(`data-loss applies to the local stage's database; '${target.name}' is not one`);
    if (!existsSync(join(target.paths.backupDir, 'PG_VERSION')))
      throw new Error(`no base backup in ${target.paths.backupDir}: the restore would have nothing to start from`);
    const data: PitrData = { controlUrl: target.controlUrl, databaseUrl: target.url, ...target.paths };
    return { faultId, provider: 'local-postgres-pitr', data, description: `restore PostgreSQL from ${target.paths.backupDir} plus archived WAL, and start it` };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const d = record.data as PitrData;
    await stageControl.crashDatabase(d.controlUrl);
    for (const entry of readdirSync(d.dataDir)) rmSync(join(d.dataDir, entry), { recursive: true, force: true });
    return { tInject: ctx.clock.now(), targets: [`postgresql data directory ${d.dataDir}`] };
  },

  async revert(record, ctx) {
    const d = record.data as PitrData;
    if ((await inRecovery(d.databaseUrl)) === false) return; // already restored and writable
    ctx.step?.('restore.started');
    for (const entry of readdirSync(d.dataDir)) rmSync(join(d.dataDir, entry), { recursive: true, force: true });
    cpSync(d.backupDir, d.dataDir, { recursive: true });
    writeFileSync(join(d.dataDir, 'recovery.signal'), '');
    const archive = d.walArchive.replace(/'/g, "''");
    appendFileSync(
      join(d.dataDir, 'postgresql.auto.conf'),
      `\n# drillbook restore\nrestore_command = 'cp ''${archive}/%f'' %p'\nrecovery_target_timeline = 'latest'\n`,
    );
    const owner = postgresOwner();
    if (owner) execFileSync('chown', ['-R', owner, d.dataDir], { env: childEnv() });
    chmodSync(d.dataDir, 0o700);
    ctx.step?.('restore.ended');
    await stageControl.startDatabase(d.controlUrl);
    const promoted = await waitFor(async () => (await inRecovery(d.databaseUrl)) === false, 300_000, 50);
    if (!promoted) throw new Error('PostgreSQL did not finish WAL replay within 5 minutes');
    ctx.step?.('replay.ended');
    ctx.log('info', 'PostgreSQL restored to the latest archived point and writable');
  },

  async status(record): Promise<FaultStatus> {
    const d = record.data as PitrData;
    const r = await inRecovery(d.databaseUrl);
    return { active: r !== false, detail: r === undefined ? 'database unreachable' : r ? 'replaying WAL' : 'restored' };
  },
};
