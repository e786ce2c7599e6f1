// The run index across packs: MTTR and TTD trends per drill against a baseline (the seeds'
// KPI: MTTR down 30 % against a baseline), game-days per quarter, the last successful
// backout drill. Pure over run records; the CLI reads them from every pack.
import type { RunRecord } from './run-record.ts';

export interface DrillTrend {
  drill: string;
  runs: number;
  /** Mean MTTR of the first `baselineRuns` runs and of the last `baselineRuns` runs (ms). */
  baselineMttrMs: number | null;
  recentMttrMs: number | null;
  /** (recent − baseline) / baseline; −0.3 meets the seeds' KPI. */
  mttrChange: number | null;
  meetsKpi: boolean | null;
  ttdMeanMs: number | null;
  points: Array<{ runId: string; startedAt: number; verdict: string; mttrMs: number | null; ttdMs: number | null }>;
}

export interface RunIndex {
  schema: 'drillbook.run-index/v1';
  drills: DrillTrend[];
  gameDaysPerQuarter: Record<string, number>;
  lastBackout: { drill: string; runId: string; startedAt: number; pack: string } | null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function ttdOf(r: RunRecord): number | null {
  const ttds = Object.entries(r.measures)
    .filter(([k, m]) => k.endsWith('.ttd') && m.value !== null)
    .map(([, m]) => m.value as number);
  return mean(ttds);
}

export function quarterOf(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

export function buildRunIndex(records: Array<{ pack: string; record: RunRecord }>, opts: { baselineRuns?: number; kpi?: number } = {}): RunIndex {
  const n = opts.baselineRuns ?? 5;
  const kpi = opts.kpi ?? -0.3;
  const byDrill = new Map<string, Array<{ pack: string; record: RunRecord }>>();
  for (const r of records) (byDrill.get(r.record.drill) ?? byDrill.set(r.record.drill, []).get(r.record.drill)!).push(r);
  const drills: DrillTrend[] = [...byDrill.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([drill, rs]) => {
    rs.sort((a, b) => a.record.startedAt - b.record.startedAt);
    const points = rs.map(({ record }) => ({ runId: record.runId, startedAt: record.startedAt, verdict: record.verdict, mttrMs: record.measures.mttr?.value ?? null, ttdMs: ttdOf(record) }));
    const mttrs = points.map((p) => p.mttrMs).filter((v): v is number => v !== null);
    // A trend needs two separate groups of runs: the first k and the last k (k ≤ n).
    const k = Math.min(n, Math.floor(mttrs.length / 2));
    const baseline = k > 0 ? mean(mttrs.slice(0, k)) : null;
    const recent = k > 0 ? mean(mttrs.slice(-k)) : null;
    const change = baseline && recent !== null ? (recent - baseline) / baseline : null;
    return { drill, runs: rs.length, baselineMttrMs: baseline, recentMttrMs: recent, mttrChange: change, meetsKpi: change === null ? null : change <= kpi, ttdMeanMs: mean(points.map((p) => p.ttdMs).filter((v): v is number => v !== null)), points };
  });
  const gameDaysPerQuarter: Record<string, number> = {};
  for (const { record } of records) if (record.plan.phases.some((p) => p.fault)) gameDaysPerQuarter[quarterOf(record.startedAt)] = (gameDaysPerQuarter[quarterOf(record.startedAt)] ?? 0) + 1;
  const backouts = records
    .filter(({ record }) => record.verdict === 'pass' && record.plan.phases.some((p) => p.fault?.kind === 'migration' || p.fault?.kind === 'data-loss'))
    .sort((a, b) => b.record.startedAt - a.record.startedAt);
  const b = backouts[0];
  return { schema: 'drillbook.run-index/v1', drills, gameDaysPerQuarter, lastBackout: b ? { drill: b.record.drill, runId: b.record.runId, startedAt: b.record.startedAt, pack: b.pack } : null };
}
