import { describe, expect, it } from 'vitest';
import { buildRunIndex, quarterOf } from '../../src/evidence/history.ts';
import { syntheticRunRecord, T0 } from '../support/run-record-fixture.ts';
import { rollbackRecord } from '../support/recovery-record.ts';
import type { RunRecord } from '../../src/evidence/run-record.ts';

function run(day: number, mttrMs: number): RunRecord {
  const r = syntheticRunRecord(day * 86_400_000);
  // The trend reads mttrOwnRecovery (self-healed and remediated episodes), as the record holds it.
  return { ...r, runId: `run-${day}`, measures: { ...r.measures, mttrOwnRecovery: { value: mttrMs, unit: 'ms', formula: 'mttr-own.v1', inputs: {} } } };
}

describe('run index across packs', () => {
  it('compares recent MTTR with the baseline runs against the seeds’ −30 % KPI', () => {
    const records = [10_000, 12_000, 11_000, 7_000, 6_000, 6_500].map((m, i) => ({ pack: 'release-1', record: run(i * 40, m) }));
    const index = buildRunIndex(records, { baselineRuns: 3 });
    const d = index.drills[0]!;
    expect(d.baselineMttrMs).toBe(11_000);
    expect(d.recentMttrMs).toBe(6_500);
    expect(d.mttrChange).toBeCloseTo(-0.409, 3);
    expect(d.meetsKpi).toBe(true);
    expect(d.ttdMeanMs).toBe(6_000);
    expect(Object.values(index.gameDaysPerQuarter).reduce((a, b) => a + b, 0)).toBe(6);
    expect(index.lastBackout).toBeNull(); // the fixture is a pod-kill drill, not a backout
  });

  it('trends MTTR over self-healed and remediated episodes only, and says so; an older record is derived from its events', () => {
    const own = rollbackRecord('remediated', T0);
    const timer = rollbackRecord('timer', T0 + 86_400_000);
    const old = syntheticRunRecord(2 * 86_400_000); // measures without mttrOwnRecovery: derived from the raw events
    delete old.measures.mttrOwnRecovery;
    const index = buildRunIndex([own, timer].map((record) => ({ pack: 'p', record })).concat([{ pack: 'p', record: old }]));
    const d = index.drills.find((x) => x.drill === 'gameday-migration-rollback')!;
    expect(d.mttrBasis).toMatch(/self-healed and remediated episodes only/);
    expect(d.points.map((p) => [p.mttrMs, p.mttrAllMs, p.left])).toEqual([
      [5_000, 5_000, {}],
      [null, 16_000, { 'after-revert': 1 }],
    ]);
    expect(index.drills.find((x) => x.drill === 'nightly')!.points[0]!.mttrMs).toBe(8_000); // the fixture's kill episode self-heals in 8 s
  });

  it('says nothing about a trend from a single run', () => {
    const d = buildRunIndex([{ pack: 'p', record: run(0, 5_000) }]).drills[0]!;
    expect([d.baselineMttrMs, d.recentMttrMs, d.mttrChange, d.meetsKpi]).toEqual([null, null, null, null]);
  });

  it('names quarters in UTC', () => {
    expect(quarterOf(Date.UTC(2026, 10, 22))).toBe('2026-Q4');
    expect(quarterOf(Date.UTC(2027, 0, 1))).toBe('2027-Q1');
  });
});
