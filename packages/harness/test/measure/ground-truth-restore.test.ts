// DR ground truth (issue #7): with archive_timeout A, the measured RPO is bounded by
// A plus one heartbeat interval plus PostgreSQL's own slack: its checkpointer checks
// archive_timeout in whole seconds (time(NULL) arithmetic in checkpointer.c), so a forced
// segment switch can come up to 1 s late. Every row acknowledged before the newest
// survivor must survive.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStage, type Stage } from '@drillbook/stage';
import { defineDrill, probe } from '../../src/define/index.ts';
import { RealClock } from '../../src/engine/clock.ts';
import { MemoryRunLog } from '../../src/engine/run-log.ts';
import { runTimelineOnStage } from '../support/stage-timeline.ts';
import { pitrProvider, takeBaseBackup } from '../../src/faults/local/pitr.ts';
import type { LocalTarget } from '../../src/faults/local/targets.ts';
import { measureEpisodes } from '../../src/measure/episodes.ts';
import { restoreFromRun } from '../../src/measure/restore.ts';
import { HeartbeatWriter } from '../../src/session/heartbeat.ts';
import { localStageTargets } from '../../src/session/environment.ts';
import { maxOf } from '../../src/util/arrays.ts';

const ARCHIVE_TIMEOUT = 2_000;
const HEARTBEAT = 100;
const dir = mkdtempSync(join(tmpdir(), 'drillbook-dr-'));
let stage: Stage;

beforeAll(async () => {
  stage = await startStage({ archiveTimeout: ARCHIVE_TIMEOUT, stateDir: join(dir, 'stage') });
}, 60_000);
afterAll(async () => {
  await stage?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('timed restore', () => {
  it(`RPO ≤ archive_timeout (${ARCHIVE_TIMEOUT} ms) + one heartbeat (${HEARTBEAT} ms) + 1 s switch slack; no acknowledged row missing below the newest survivor`, async () => {
    const clock = new RealClock();
    const targets: Record<string, LocalTarget> = localStageTargets(stage, join(dir, 'backup'));
    const drill = defineDrill({
      name: 'dr',
      environments: ['local'],
      steadyState: [
        probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '200ms' }),
        // Healthy means writable again, not only answering: replay must be over.
        probe.sql({ name: 'writable', target: 'db', query: 'select (not pg_is_in_recovery())::int', every: '200ms', tolerance: '== 1' }),
      ],
      restore: { kind: 'postgres-pitr', database: 'db', heartbeat: { every: HEARTBEAT }, restoreAfter: '1s' },
      targets: { rpo: '15m', rto: '60m' },
      observe: '5s', // long enough for two forced WAL switches before the failure
    });
    const heartbeat = new HeartbeatWriter(stage.urls.database, HEARTBEAT, clock);
    await heartbeat.prepare();
    takeBaseBackup(stage.paths.pgBin, stage.urls.database, join(dir, 'backup'));
    const log = new MemoryRunLog();
    const outcome = await runTimelineOnStage(drill.plan, {
      runId: 'dr',
      dir,
      clock,
      sink: log,
      provider: pitrProvider,
      targets,
      probes: { targetUrl: () => stage.urls.service, databaseUrl: () => stage.urls.database },
      background: [heartbeat],
    });
    expect(outcome.status).toBe('completed');
    const surviving = await heartbeat.surviving();
    const episodes = measureEpisodes(log.events, drill.plan);
    const report = restoreFromRun(log.events, episodes, { acks: heartbeat.acks, surviving: [...surviving] }, drill.plan.targets ?? {})!;
    console.log(
      `acknowledged ${heartbeat.acks.length} · lost ${report.lostRows.value} · RPO ${report.rpo.value} ms · RTO ${report.rto.value} ms ${JSON.stringify(report.breakdown)}`,
    );
    expect(report.rpo.value).not.toBeNull();
    expect(report.rpo.value!).toBeLessThanOrEqual(ARCHIVE_TIMEOUT + HEARTBEAT + 1_000);
    expect(Object.values(report.breakdown).every((part) => part >= 0)).toBe(true);
    expect(report.checks[0]).toMatchObject({ ok: true }); // no hole below the newest survivor
    // Writes go on after the restore: the database is writable again.
    expect(maxOf(surviving)).toBeGreaterThan(report.newestSurvivor!.seq);
  });
});
