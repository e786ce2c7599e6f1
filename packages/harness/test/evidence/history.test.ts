import { describe, expect, it } from 'vitest';
import { buildRunIndex, quarterOf } from '../../src/evidence/history.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';
import type { RunRecord } from '../../src/evidence/run-record.ts';

function run(day: number, mttrMs: number): RunRecord {
  const r = syntheticRunRecord(day * 86_400_000);
  return { ...r, runId: `run-${day}`, measures: { ...r.measures, mttr: { value: mttrMs, unit: 'ms', formula: 'mttr.v1', inputs: {} } } };
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

  it('says nothing about a trend from a single run', () => {
    const d = buildRunIndex([{ pack: 'p', record: run(0, 5_000) }]).drills[0]!;
    expect([d.baselineMttrMs, d.recentMttrMs, d.mttrChange, d.meetsKpi]).toEqual([null, null, null, null]);
  });

  it('names quarters in UTC', () => {
    expect(quarterOf(Date.UTC(2026, 10, 22))).toBe('2026-Q4');
    expect(quarterOf(Date.UTC(2027, 0, 1))).toBe('2027-Q1');
  });
});
