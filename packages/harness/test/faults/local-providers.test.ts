// Every local fault goes in and comes out on the real stage, and its effect is seen
// from outside: the process gone and back, added latency measured through the proxy,
// the database down then up, a stressor running, a migration applied and rolled back.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { pgClient } from '../../src/observe/pg-client.ts';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { RealClock } from '../../src/engine/clock.ts';
import type { FaultProvider, ProviderContext, RevertRecord } from '../../src/engine/types.ts';
import type { FaultSpec } from '../../src/define/types.ts';
import { processProvider } from '../../src/faults/local/process.ts';
import { proxyProvider } from '../../src/faults/local/proxy.ts';
import { databaseOutageProvider, migrationProvider } from '../../src/faults/local/postgres.ts';
import { stressProvider } from '../../src/faults/local/stress.ts';
import { isAlive, isStopped } from '../../src/faults/local/os-process.ts';
import type { LocalTarget } from '../../src/faults/local/targets.ts';
import { localProviders, ProviderRegistry } from '../../src/faults/registry.ts';

let stage: Stage;
let ctx: ProviderContext;
const stateDir = mkdtempSync(join(tmpdir(), 'drillbook-faults-'));

beforeAll(async () => {
  stage = await startStage({ restartDelay: 1_000, stateDir });
  const targets: Record<string, LocalTarget> = {
    api: { kind: 'stage-service', name: 'api', controlUrl: stage.urls.control, url: stage.urls.service },
    db: { kind: 'stage-database', name: 'db', controlUrl: stage.urls.control, url: stage.urls.database },
  };
  ctx = {
    environmentName: 'local',
    environment: { kind: 'local' },
    clock: new RealClock(),
    signal: new AbortController().signal,
    log: () => {},
    resolveTarget: (n) => targets[n],
  };
}, 60_000);

afterAll(async () => {
  await stage?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function through(provider: FaultProvider, fault: FaultSpec, id: string, whileIn: (record: RevertRecord) => Promise<void>) {
  const record = await provider.prepare(fault, id, ctx);
  const injected = await provider.inject(fault, record, ctx);
  expect(injected.targets.length).toBeGreaterThan(0);
  try {
    await whileIn(record);
  } finally {
    await provider.revert(record, ctx);
  }
  return record;
}

// The control API wants the stage's bearer token.
const controlHeaders = () => ({ authorization: `Bearer ${stage.controlToken}` });
const replicas = async () =>
  (await (await request(`${stage.urls.control}/replicas`, { headers: controlHeaders() })).body.json()) as Array<{
    name: string;
    pid: number | null;
    ready: boolean;
    restarts: number;
  }>;
const status = async (path: string) => {
  const res = await request(new URL(path, stage.urls.service), { method: 'GET' });
  await res.body.dump();
  return res.statusCode;
};
const waitFor = async (cond: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};
/** Time of one DB-bound request through the balancer. */
async function ingestMs(): Promise<number> {
  const t0 = performance.now();
  const res = await request(new URL('/ingest', stage.urls.service), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ kind: 'person', name: 'Ada' }] }),
  });
  await res.body.dump();
  expect(res.statusCode).toBe(201);
  return performance.now() - t0;
}

describe('local fault providers on the real stage', () => {
  it('pod-kill: the chosen replica process is gone, and the supervisor brings it back', async () => {
    const record = await through(processProvider, { kind: 'pod-kill', target: 'api', selection: { mode: 'one' } }, 'kill-1', async (r) => {
      const victims = r.data.victims as Array<{ pid: number }>;
      expect(victims).toHaveLength(1);
      expect(isAlive(victims[0]!.pid)).toBe(false);
    });
    const victim = (record.data.victims as Array<{ pid: number; label: string }>)[0]!;
    expect(await waitFor(async () => (await replicas()).every((r) => r.ready && r.pid !== null && r.pid !== victim.pid), 20_000)).toBe(true);
    expect((await replicas()).reduce((s, r) => s + r.restarts, 0)).toBeGreaterThanOrEqual(1);
  });

  it('pod-failure: SIGSTOP for the duration (state T in /proc), SIGCONT on revert', async () => {
    let pid = 0;
    await through(processProvider, { kind: 'pod-failure', target: 'api', selection: { mode: 'one' }, duration: 60_000 }, 'pause-1', async () => {
      const stopped = (await replicas()).map((r) => r.pid!).filter((p) => p && isStopped(p));
      expect(stopped).toHaveLength(1);
      pid = stopped[0]!;
    });
    expect(isStopped(pid)).toBe(false);
    expect(isAlive(pid)).toBe(true);
  });

  it('network delay on the db proxy: a DB-bound request gets slower by about the delay, and fast again after', async () => {
    await waitFor(async () => (await replicas()).every((r) => r.ready), 20_000);
    const base = Math.min(await ingestMs(), await ingestMs(), await ingestMs());
    let slowed = 0;
    await through(
      proxyProvider,
      { kind: 'network', target: 'db', selection: { mode: 'one' }, duration: 60_000, delay: 200, direction: 'to' },
      'delay-1',
      async () => {
        slowed = Math.min(await ingestMs(), await ingestMs());
      },
    );
    const after = Math.min(await ingestMs(), await ingestMs(), await ingestMs());
    // An ingest makes several round trips to PostgreSQL: at least one delay on top.
    expect(slowed - base).toBeGreaterThanOrEqual(190);
    expect(after).toBeLessThan(base + 150);
  });

  it('dependency outage: the database is down (readyz 503) and up again after revert; the harness’s own open connections survive it', async () => {
    // An idle harness connection when the server goes away gets 57P01 as an 'error' event:
    // without pgClient's listener that is an uncaught exception (vitest would fail the run).
    const idle = pgClient(stage.urls.database);
    await idle.connect();
    const idleEnded = new Promise<void>((resolve) => idle.once('end', () => resolve()));
    await through(databaseOutageProvider, { kind: 'dependency-outage', target: 'db', selection: { mode: 'one' }, duration: 60_000 }, 'outage-1', async () => {
      expect(await status('/readyz')).toBe(503);
      await idleEnded;
    });
    expect(await waitFor(async () => (await status('/readyz')) === 200, 20_000)).toBe(true);
  });

  it('migration: applied, visible in the database, rolled back by its journaled SQL', async () => {
    const tableExists = async () => {
      const c = new pg.Client({ connectionString: stage.urls.database });
      await c.connect();
      try {
        return (await c.query("select to_regclass('public.drill_marker') is not null as present")).rows[0].present as boolean;
      } finally {
        await c.end();
      }
    };
    const record = await through(
      migrationProvider,
      { kind: 'migration', target: 'db', selection: { mode: 'one' }, apply: 'create table drill_marker (x int)', rollback: 'drop table drill_marker' },
      'mig-1',
      async () => {
        expect(await tableExists()).toBe(true);
      },
    );
    expect(record.data.rollback).toBe('drop table drill_marker');
    expect(await tableExists()).toBe(false);
  });

  it('stress: a CPU stressor runs while the fault is in and is gone after revert', async () => {
    const record = await through(
      stressProvider,
      { kind: 'stress', target: 'api', selection: { mode: 'one' }, duration: 30_000, cpu: { workers: 1, load: 20 } },
      'stress-1',
      async (r) => {
        expect((await stressProvider.status(r)).active).toBe(true);
      },
    );
    expect((await stressProvider.status(record)).active).toBe(false);
  });

  it('the registry picks the provider per fault kind and environment, and refuses what none supports', () => {
    const reg = new ProviderRegistry(localProviders);
    expect(reg.choose({ kind: 'pod-kill', target: 'api', selection: { mode: 'one' } }, { kind: 'local' }).name).toBe('local-process');
    expect(reg.choose({ kind: 'network', target: 'db', selection: { mode: 'one' }, duration: 1, delay: 1, direction: 'to' }, { kind: 'local' }).name).toBe(
      'local-proxy',
    );
    expect(() =>
      reg.choose(
        { kind: 'network', target: 'db', selection: { mode: 'one' }, duration: 1, delay: 1, direction: 'to' },
        { kind: 'kubernetes', context: 'c', namespaces: ['n'], targets: {} },
      ),
    ).toThrow(/no provider can inject a 'network' fault in a 'kubernetes' environment/);
  });
});
