// `drill history --json`: the run index across every pack — MTTR and TTD trends per drill,
// game-days per quarter, the last successful backout drill.
import { z } from 'zod';
import type { RunIndex } from '../../evidence/history.ts';
import { envelope, epochMs } from './common.ts';

const DrillTrendOut = z.object({
  drill: z.string(),
  runs: z.int(),
  baselineMttrMs: z.number().nullable().describe('mean MTTR of the first runs'),
  recentMttrMs: z.number().nullable().describe('mean MTTR of the last runs'),
  mttrChange: z.number().nullable().describe('(recent − baseline) / baseline'),
  meetsKpi: z.boolean().nullable().describe('mttrChange ≤ −0.3'),
  ttdMeanMs: z.number().nullable(),
  mttrBasis: z.string().describe('which episodes the trend counts'),
  points: z.array(
    z.object({
      runId: z.string(),
      startedAt: epochMs,
      verdict: z.string(),
      mttrMs: z.number().nullable().describe('the trended MTTR (self-healed and remediated episodes)'),
      mttrAllMs: z.number().nullable().describe("the record's own mttr measure"),
      left: z.record(z.string(), z.int()).describe('episodes the trend leaves out, by how they recovered'),
      ttdMs: z.number().nullable(),
    }),
  ),
});

export const HistoryOutput = z
  .object({
    ...envelope('history'),
    evidenceDir: z.string(),
    runs: z.int(),
    drills: z.array(DrillTrendOut),
    gameDaysPerQuarter: z.record(z.string(), z.int()).describe("e.g. { '2026-Q4': 3 }"),
    lastBackout: z.object({ drill: z.string(), runId: z.string(), startedAt: epochMs, pack: z.string() }).nullable(),
    files: z.array(z.string()).describe('written: the index (index.json) under the evidence directory, when it exists'),
  })
  .meta({ title: 'drill history --json' });
export type HistoryOutput = z.infer<typeof HistoryOutput>;

export function historyOutput(index: RunIndex, context: { evidenceDir: string; runs: number; files: string[] }, exitCode: number): HistoryOutput {
  return {
    schema: 'drillbook.cli.history/v1',
    command: 'history',
    exitCode,
    evidenceDir: context.evidenceDir,
    runs: context.runs,
    drills: index.drills.map((d) => ({
      drill: d.drill,
      runs: d.runs,
      baselineMttrMs: d.baselineMttrMs,
      recentMttrMs: d.recentMttrMs,
      mttrChange: d.mttrChange,
      meetsKpi: d.meetsKpi,
      ttdMeanMs: d.ttdMeanMs,
      mttrBasis: d.mttrBasis,
      points: d.points.map((p) => ({
        runId: p.runId,
        startedAt: p.startedAt,
        verdict: p.verdict,
        mttrMs: p.mttrMs,
        mttrAllMs: p.mttrAllMs,
        left: { ...p.left },
        ttdMs: p.ttdMs,
      })),
    })),
    gameDaysPerQuarter: { ...index.gameDaysPerQuarter },
    lastBackout: index.lastBackout ? { ...index.lastBackout } : null,
    files: context.files,
  };
}
