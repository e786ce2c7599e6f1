// The stage's PostgreSQL as a fault target: an outage (server stopped, then started)
// and a bad migration (SQL applied, and its rollback journaled before it runs).
import { pgClient } from '../../observe/pg-client.ts';
import type { EnvironmentConfig, MigrationFault } from '../../define/types.ts';
import type { FaultProvider, FaultStatus, InjectedFault, RevertRecord } from '../../engine/types.ts';
import { stageControl, StageUnreachable } from './stage-control.ts';
import { isLocalTarget, requireLocalTarget } from './targets.ts';

async function runSql(url: string, sql: string): Promise<void> {
  const client = pgClient(url, { connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

export const databaseOutageProvider: FaultProvider = {
  name: 'local-postgres-outage',

  supports(fault, env: EnvironmentConfig) {
    return env.kind === 'local' && fault.kind === 'dependency-outage';
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const target = requireLocalTarget(ctx.resolveTarget, (fault as { target: string }).target);
    if (target.kind !== 'stage-database') throw new Error(`dependency-outage on the local stage applies to its database; '${target.name}' is not one`);
    return {
      faultId,
      provider: 'local-postgres-outage',
      data: { controlUrl: target.controlUrl },
      deadline: Date.now() + (fault as { duration: number }).duration,
      description: `start the stage's PostgreSQL again (${target.controlUrl})`,
    };
  },

  async inject(_fault, record, ctx): Promise<InjectedFault> {
    const { controlUrl } = record.data as { controlUrl: string };
    await stageControl.stopDatabase(controlUrl); // answers once the server has stopped
    return { tInject: ctx.clock.now(), targets: ['postgresql'] };
  },

  async revert(record, ctx) {
    const { controlUrl } = record.data as { controlUrl: string };
    try {
      await stageControl.startDatabase(controlUrl);
    } catch (err) {
      if (err instanceof StageUnreachable) ctx.log('warn', `${err.message}; the stage is gone, and its database with it`);
      else throw err;
    }
  },

  async status(record): Promise<FaultStatus> {
    const { controlUrl } = record.data as { controlUrl: string };
    const db = (await stageControl.status(controlUrl)).find((c) => c.name === 'postgresql');
    return { active: !db?.healthy, detail: db ? `postgresql ${db.healthy ? 'up' : 'down'}` : 'postgresql not reported' };
  },
};

export const migrationProvider: FaultProvider = {
  name: 'sql-migration',

  // A migration is SQL against the database: anywhere the harness has the database's URL,
  // including a Kubernetes environment whose target names one (port-forward or in-cluster).
  supports(fault, env: EnvironmentConfig) {
    if (fault.kind !== 'migration') return false;
    if (env.kind === 'kubernetes') {
      const url = env.targets[(fault as MigrationFault).target]?.url;
      // A URL kept in a Secret is a database's by the team's say-so; it is read when the run opens the cluster.
      return typeof url === 'object' || /^postgres(ql)?:\/\//.test(url ?? '');
    }
    return env.kind === 'local' || env.kind === 'hosts';
  },

  async prepare(fault, faultId, ctx): Promise<RevertRecord> {
    const m = fault as MigrationFault;
    const resolved = ctx.resolveTarget(m.target);
    const target = isLocalTarget(resolved) ? resolved : undefined;
    const url = target ? (target.kind === 'host' ? target.target.url : target.url) : (resolved as { url?: string } | undefined)?.url;
    if (!url) throw new Error(`migration target '${m.target}' has no database URL`);
    return { faultId, provider: 'sql-migration', data: { url, rollback: m.rollback }, description: `roll back migration on ${m.target}` };
  },

  async inject(fault, record, ctx): Promise<InjectedFault> {
    const { url } = record.data as { url: string };
    await runSql(url, (fault as MigrationFault).apply);
    return { tInject: ctx.clock.now(), targets: [(fault as MigrationFault).target] };
  },

  async revert(record) {
    const { url, rollback } = record.data as { url: string; rollback: string };
    await runSql(url, rollback);
  },

  async status() {
    return { active: true, detail: 'a migration stays until its rollback has run' };
  },
};
