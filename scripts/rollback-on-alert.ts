#!/usr/bin/env zx
// The seeds' rollback_on_alert: rolls back migration 042 when GraphApiRouteFailing fires. The
// harness runs it in game-day 2 when the alert reaches it through Alertmanager, and `drill
// remediate --listen` runs the same script for the team's own Alertmanager in stage.
//
//   DRILLBOOK_TARGET_URL=postgres://… npx zx --import tsx scripts/rollback-on-alert.ts
//
// The database comes as DRILLBOOK_TARGET_URL (what the harness passes) or DATABASE_URL. It checks
// the schema first: a rollback that does not match what is deployed stops with an error, loudly.
import { echo } from 'zx';
import pg from 'pg';
import { migration042 as m } from './migrations/042-runbook-runs-v2.ts';

const url = process.env.DRILLBOOK_TARGET_URL ?? process.env.DATABASE_URL;
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  echo('rollback-on-alert: give the database as DRILLBOOK_TARGET_URL or DATABASE_URL (postgres://…)');
  process.exit(2);
}
const alert = process.env.DRILLBOOK_ALERT;
echo(`rollback-on-alert: ${alert ? `${alert} fired; ` : ''}rolling back migration ${m.id}`);

const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, statement_timeout: 10_000 });
await client.connect();
try {
  const { rows } = await client.query<{ applied: string | null; original: string | null }>('SELECT to_regclass($1) AS applied, to_regclass($2) AS original', [
    m.renamedTo,
    m.table,
  ]);
  const { applied, original } = rows[0]!;
  if (!applied && original) {
    echo(`nothing to roll back: ${m.table} is in place and ${m.renamedTo} is not`);
  } else if (!applied) {
    throw new Error(`neither ${m.renamedTo} nor ${m.table} exists: the deployed schema is not migration ${m.id}; roll back by hand`);
  } else {
    await client.query('BEGIN');
    await client.query(m.rollback);
    await client.query('COMMIT');
    echo(`rolled back migration ${m.id}: ${m.rollback}`);
  }
} catch (err) {
  await client.query('ROLLBACK').catch(() => {});
  echo(`rollback-on-alert: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await client.end();
}
