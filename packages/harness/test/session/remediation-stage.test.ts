// `drill remediate --listen` against the local stage's real Alertmanager: the stage's Prometheus
// evaluates the project's alert rules, the bad migration of game-day 2 goes in, requests to the
// route fail, GraphApiRouteFailing fires, Alertmanager posts its webhook (with the bearer token)
// to the listener started as the CLI, and scripts/rollback-on-alert.ts rolls the migration back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { buildLocalRules } from '../../src/session/local-rules.ts';
import type { RemediationAction } from '../../src/session/remediate-listener.ts';
import { newToken } from '../../src/observe/http-input.ts';
import { repoRoot } from '../support/seed-project.ts';
import { migration042 } from '../../../../scripts/migrations/042-runbook-runs-v2.ts';
import { freePort } from '../../../stage/src/ports.ts';

// Inside the repository, so the config's `import '@drillbook/harness'` resolves.
const root = mkdtempSync(join(repoRoot, '.tmp-remediate-'));
for (const name of ['alerts', 'drills', 'load', 'runbooks', 'scripts', 'synthetics', 'dashboards']) symlinkSync(join(repoRoot, name), join(root, name));
let stage: Stage | undefined;
let listener: ChildProcess | undefined;
afterAll(async () => {
  if (listener?.pid && listener.exitCode === null) listener.kill('SIGTERM');
  await stage?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

describe('drill remediate --listen', () => {
  it("runs scripts/rollback-on-alert.ts when the stage's Alertmanager delivers GraphApiRouteFailing", async () => {
    const rules = await buildLocalRules(root, () => {});
    if (!rules.ok) throw new Error(rules.message);
    const token = newToken();
    const port = await freePort();
    const webhook = `http://127.0.0.1:${port}/alertmanager`;
    stage = await startStage({ rulesDir: rules.rulesDir, alertWebhookUrl: webhook, alertWebhookToken: token, stateDir: join(root, '.drillbook', 'stage') });
    const db = stage.urls.database;
    // The team's stage as drillbook.config.ts describes it: here, the local stage's database.
    writeFileSync(
      join(root, 'drillbook.config.ts'),
      `import { defineConfig } from '@drillbook/harness';\nexport default defineConfig({ environments: { local: { kind: 'local' }, ` +
        `stage: { kind: 'hosts', targets: { api: { url: ${JSON.stringify(stage.urls.service)} }, db: { url: ${JSON.stringify(db)} } } } } });\n`,
    );

    listener = spawn(
      process.execPath,
      [
        join(repoRoot, 'packages', 'harness', 'bin', 'drill.js'),
        'remediate',
        '--listen',
        `127.0.0.1:${port}`,
        '--env',
        'stage',
        'drills/gameday-migration-rollback.ts',
      ],
      {
        cwd: root,
        env: { ...process.env, DRILLBOOK_REMEDIATE_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let stdout = '';
    listener.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const actions: RemediationAction[] = [];
    listener.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      for (const l of lines) if (l.trim()) actions.push(JSON.parse(l) as RemediationAction);
    });
    const until = async (what: string, done: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!done()) {
        if (Date.now() > end || listener!.exitCode !== null) throw new Error(`${what} did not happen (listener exit ${listener!.exitCode}):\n${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until('the listener starting', () => stderr.includes('listening on'), 60_000);
    expect(stderr).toContain('GraphApiRouteFailing → scripts/rollback-on-alert.ts (drills/gameday-migration-rollback.ts phase bad-migration)');

    // Refused without the token, and from a browser.
    const body = JSON.stringify({ receiver: 'x', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'GraphApiRouteFailing' } }] });
    expect((await fetch(webhook, { method: 'POST', body })).status).toBe(401);
    expect((await fetch(webhook, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' } })).status).toBe(403);

    // The bad migration goes out; the route fails under traffic until the script rolls it back.
    await sql(db, migration042.apply);
    const traffic = setInterval(() => {
      void fetch(`${stage!.urls.service}/runbook/rb-1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => {});
    }, 200);
    try {
      await until('the remediation', () => actions.length > 0, 120_000);
    } finally {
      clearInterval(traffic);
    }
    const a = actions[0]!;
    expect(a).toMatchObject({ alert: 'GraphApiRouteFailing', script: 'scripts/rollback-on-alert.ts', ok: true, exitCode: 0 });
    expect(a.labels.route).toBe('/runbook/:id/run');
    expect(a.output).toContain('rolled back migration 042');
    const tables = await sql<{ t: string | null }>(db, `SELECT to_regclass('${migration042.table}')::text AS t`);
    expect(tables[0]!.t).toBe(migration042.table);
    const res = await fetch(`${stage.urls.service}/runbook/rb-1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(202);

    listener.kill('SIGTERM');
    await new Promise((r) => listener!.once('exit', r));
    expect(listener.exitCode).toBe(0);
  }, 240_000);
});
