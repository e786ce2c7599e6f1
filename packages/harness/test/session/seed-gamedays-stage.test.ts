// The seeds' two game-days, run from drills/ as committed against the local stage, each
// ending in a signed pack that verifies. (The nightly and DR drills: seed-drills-stage.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { runSeedDrill, seedProject } from '../support/seed-project.ts';

const project = seedProject();
afterAll(() => project.remove());

// A drill runs for about a minute of real time (its phases), plus the stage's start.
const DRILL_TIMEOUT = 240_000;

describe('seed game-days on the local stage', () => {
  it('game-day 1: a PostgreSQL outage under load fires GraphApiDatabaseDown and recovers within 60 s', async () => {
    const rec = await runSeedDrill(project.root, 'gameday-dependency-outage');
    expect(rec.verdict).toBe('pass');
    const ttd = rec.measures['db-outage.ttd'] ?? Object.entries(rec.measures).find(([k]) => k.endsWith('.ttd'))![1];
    expect(ttd.value).toBeGreaterThan(0);
    const ttr = Object.entries(rec.measures).find(([k]) => k.endsWith('.ttr'))![1];
    expect(ttr.value).toBeGreaterThan(20_000); // the outage lasts 20 s; recovery cannot come sooner
    expect(ttr.value).toBeLessThanOrEqual(60_000);
    const fired = rec.events.filter((e) => e.kind === 'alert' && e.state === 'firing').map((e) => (e as { alert: string }).alert);
    expect(fired).toContain('GraphApiDatabaseDown');
    expect(rec.measures.mttr?.value).toBeGreaterThan(0);
  }, DRILL_TIMEOUT);

  it('game-day 2: a bad migration under load breaks the runbook route, is rolled back, and the journey recovers', async () => {
    const rec = await runSeedDrill(project.root, 'gameday-migration-rollback');
    expect(rec.verdict).toBe('pass');
    const ttr = rec.measures['bad-migration.ttr']!;
    expect(ttr.value).toBeGreaterThan(15_000); // the bad migration stays 15 s before its rollback
    expect(ttr.value).toBeLessThanOrEqual(15_000 + 30_000);
    const impact = rec.measures['bad-migration.impact']!;
    expect(impact.value).toBeGreaterThan(0); // the journey failed while the migration was in
    // Detected by the per-route alert while the migration was in (the overall error ratio
    // stays low: only the runbook route breaks, and the load writes to /ingest).
    const ttd = rec.measures['bad-migration.ttd']!;
    expect(ttd.value).toBeGreaterThan(0);
    expect(ttd.value).toBeLessThan(15_000 + 10_000); // at the latest while the failures are still in its 10 s window
    const fired = rec.events.filter((e) => e.kind === 'alert' && e.state === 'firing').map((e) => (e as { alert: string; labels: Record<string, string> }));
    expect(fired.find((a) => a.alert === 'GraphApiRouteFailing')?.labels.route).toBe('/runbook/:id/run');
    const failedJourney = rec.events.filter((e) => e.kind === 'probe' && !e.ok && e.probe.includes('ingest-resolve-runbook-report'));
    expect(failedJourney.length).toBeGreaterThan(0);
  }, DRILL_TIMEOUT);
});
