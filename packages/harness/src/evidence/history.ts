// The run index across packs: MTTR and TTD trends per drill against a baseline (the seeds'
// KPI: MTTR down 30 % against a baseline), game-days per quarter, the last successful
// backout drill. Pure over run records; the CLI reads them from every pack.
// The MTTR trended is over self-healed and remediated episodes only (`mttrOwnRecovery`): an episode
// without impact is no incident, and one that recovered only after the harness took its fault out
// measures the drill's timer. Otherwise editing a drill, not recovering faster, would move the KPI.
import { mttrOwnRecovery } from '../measure/episodes.ts';
import { episodesOfRecord } from './record-episodes.ts';
import type { RunRecord } from './run-record.ts';

/** What the trended MTTR is taken over, said wherever the trend is shown. */
export const MTTR_TREND_BASIS = 'self-healed and remediated episodes only (no-impact, after-revert and not-recovered left out)';

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
  /** `MTTR_TREND_BASIS`. */
  mttrBasis: string;
  /**
   * Per run: `mttrMs` is the trended MTTR (self-healed and remediated episodes), `mttrAllMs` the record's
   * own `mttr` measure (over every incident, or every episode in a mttr.v1 record), `left` the episodes
   * the trend leaves out by how they recovered.
   */
  points: Array<{
    runId: string;
    startedAt: number;
    verdict: string;
    mttrMs: number | null;
    mttrAllMs: number | null;
    left: Record<string, number>;
    ttdMs: number | null;
  }>;
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

/**
 * A run's trended MTTR: the recorded `mttrOwnRecovery` (re-derived by `drill verify`), or, for a record
 * written before it, the same formula over its episodes measured from its raw events.
 */
function ownMttrOf(record: RunRecord): { mttrMs: number | null; left: Record<string, number> } {
  const episodes = episodesOfRecord(record);
  const left: Record<string, number> = {};
  for (const e of episodes) if (e.recoveredBy !== 'self-healed' && e.recoveredBy !== 'remediated') left[e.recoveredBy] = (left[e.recoveredBy] ?? 0) + 1;
  const recorded = record.measures.mttrOwnRecovery;
  return { mttrMs: recorded ? recorded.value : mttrOwnRecovery(episodes).value, left };
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
  const drills: DrillTrend[] = [...byDrill.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([drill, rs]) => {
      rs.sort((a, b) => a.record.startedAt - b.record.startedAt);
      const points = rs.map(({ record }) => ({
        runId: record.runId,
        startedAt: record.startedAt,
        verdict: record.verdict,
        ...ownMttrOf(record),
        mttrAllMs: record.measures.mttr?.value ?? null,
        ttdMs: ttdOf(record),
      }));
      const mttrs = points.map((p) => p.mttrMs).filter((v): v is number => v !== null);
      // A trend needs two separate groups of runs: the first k and the last k (k ≤ n).
      const k = Math.min(n, Math.floor(mttrs.length / 2));
      const baseline = k > 0 ? mean(mttrs.slice(0, k)) : null;
      const recent = k > 0 ? mean(mttrs.slice(-k)) : null;
      const change = baseline && recent !== null ? (recent - baseline) / baseline : null;
      return {
        drill,
        runs: rs.length,
        baselineMttrMs: baseline,
        recentMttrMs: recent,
        mttrChange: change,
        meetsKpi: change === null ? null : change <= kpi,
        ttdMeanMs: mean(points.map((p) => p.ttdMs).filter((v): v is number => v !== null)),
        mttrBasis: MTTR_TREND_BASIS,
        points,
      };
    });
  const gameDaysPerQuarter: Record<string, number> = {};
  for (const { record } of records)
    if (record.plan.phases.some((p) => p.fault)) gameDaysPerQuarter[quarterOf(record.startedAt)] = (gameDaysPerQuarter[quarterOf(record.startedAt)] ?? 0) + 1;
  const backouts = records
    .filter(({ record }) => record.verdict === 'pass' && record.plan.phases.some((p) => p.fault?.kind === 'migration' || p.fault?.kind === 'data-loss'))
    .sort((a, b) => b.record.startedAt - a.record.startedAt);
  const b = backouts[0];
  return {
    schema: 'drillbook.run-index/v1',
    drills,
    gameDaysPerQuarter,
    lastBackout: b ? { drill: b.record.drill, runId: b.record.runId, startedAt: b.record.startedAt, pack: b.pack } : null,
  };
}
