// The short readable end of a run, as in API-SKETCH.md "What comes out". Pure text.
import { formatDuration } from '../define/duration.ts';
import type { Verdict } from '../engine/types.ts';
import type { SloBurn } from './run.ts';
import type { Episode } from './episodes.ts';
import type { Check } from './verdict.ts';
import type { RestoreReport } from './restore.ts';
import type { Measure } from './types.ts';

export interface SummaryInput {
  drill: string;
  environment: string;
  verdict: Verdict;
  exitCode: number;
  runFile?: string;
  reportFile?: string;
  episodes: readonly Episode[];
  /** Burn per declared SLO; an empty list says the drill declared none. */
  burns?: readonly SloBurn[];
  coverage?: { value: number; min: number };
  checks: readonly Check[];
  faultsLeftIn: number;
  restore?: RestoreReport;
  reason?: string;
  /** The run's MTTR measure; its note says how many episodes were incidents. */
  mttr?: Measure;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : formatDuration(v));

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export function renderSummary(s: SummaryInput): string {
  const lines: string[] = [];
  lines.push(`${s.drill} on ${s.environment} — ${s.verdict.toUpperCase()} (exit ${s.exitCode})${s.runFile ? `            ${s.runFile}` : ''}`);
  if (s.reason) lines.push(`reason: ${s.reason}`);
  if (s.episodes.length) {
    // TTM only once a mitigation measure exists for some episode (issue #14 item 4).
    const withTtm = s.episodes.some((e) => e.ttm);
    const rows = [['episode', 'TTD', ...(withTtm ? ['TTM'] : []), 'TTR', 'impact', 'recovered by', 'alerts fired', 'within']];
    for (const e of s.episodes) {
      const fired = [...Object.entries(e.alertsFired).map(([a, t]) => (t === undefined ? `${a} ✗` : a)), ...e.unexpectedAlerts.map((a) => `${a} (unexpected)`)];
      const within =
        e.recoverWithin === undefined ? '' : `${formatDuration(e.recoverWithin)} ${e.ttr.value !== null && e.ttr.value <= e.recoverWithin ? '✓' : '✗'}`;
      const tail = e.recoveryTail?.value;
      const by = typeof tail === 'number' ? `${e.recoveredBy} +${ms(tail)}` : e.recoveredBy;
      const ttm = withTtm ? [ms(e.ttm?.value)] : [];
      rows.push([e.phase, ms(e.ttd.value), ...ttm, e.noImpact ? '0 (no impact)' : ms(e.ttr.value), ms(e.impact.value), by, fired.join(', ') || '—', within]);
    }
    for (const row of table(rows)) lines.push(row);
    for (const e of s.episodes)
      if (e.ttm)
        lines.push(
          `${e.phase}: TTM ${ms(e.ttm.value)} · rollback ${ms(e.rollback?.value)} (mitigation start → recovered)${e.ttm.note ? ` — ${e.ttm.note}` : ''}`,
        );
    const slo = s.episodes.filter((e) => e.sloImpact.length);
    for (const e of slo) lines.push(`${e.phase}: SLO impact ${e.sloImpact.map((b) => `${b.sloId} ${b.sli} ${b.detail}`).join('; ')}`);
    if (s.mttr) lines.push(`MTTR ${ms(s.mttr.value)}${s.mttr.note ? ` (${s.mttr.note})` : ''}`);
  }
  if (s.restore) {
    const b = s.restore.breakdown;
    lines.push(
      `RPO ${ms(s.restore.rpo.value)} (${s.restore.lostRows.value} acknowledged rows lost) · RTO ${ms(s.restore.rto.value)} = detect ${ms(b.detect)} + restore ${ms(b.restore)} + replay ${ms(b.replay)} + warm-up ${ms(b.warmUp)}`,
    );
  }
  const tail: string[] = [];
  if (s.burns && s.burns.length === 0) tail.push('burn: no SLO declared');
  for (const { sloId, report } of s.burns ?? []) {
    const peak = report.peaks[0];
    const days = Math.round(report.periodMs / 86_400_000);
    tail.push(
      `burn ${sloId}: ${((report.budgetConsumed.value ?? 0) * 100).toFixed(3)} % of ${days}-day budget${peak ? ` (peak ${peak.pair} burn ${peak.peak.toFixed(1)}×)` : ''}`,
    );
  }
  if (s.coverage) tail.push(`trace coverage ${(s.coverage.value * 100).toFixed(0)} % (≥ ${(s.coverage.min * 100).toFixed(0)} %)`);
  tail.push(`${s.faultsLeftIn} faults left in`);
  lines.push(tail.join(' · '));
  const failed = s.checks.filter((c) => !c.ok);
  for (const c of failed) lines.push(`✗ ${c.name}: ${c.detail}`);
  if (s.reportFile) lines.push(`report: ${s.reportFile}`);
  return lines.join('\n');
}
