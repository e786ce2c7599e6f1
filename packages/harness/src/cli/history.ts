// `drill history`: the run index across every pack under the evidence directory.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from '../define/duration.ts';
import { findProjectRoot, loadConfig } from '../project/loader.ts';
import { ExitCode } from '../engine/types.ts';
import { writeFileAtomic } from '../evidence/atomic-write.ts';
import { canonicalJson } from '../evidence/canonical.ts';
import { MTTR_TREND_BASIS, buildRunIndex } from '../evidence/history.ts';
import type { RunRecord } from '../evidence/run-record.ts';
import type { historySpec } from './commands.ts';
import type { CliIo } from './io.ts';
import type { Parsed } from './spec.ts';

export async function historyCommand({ flags: values }: Parsed<typeof historySpec>, io: CliIo): Promise<number> {
  const root = findProjectRoot();
  const evidenceDir = values['evidence-dir'] ?? join(root, (await loadConfig(root)).config.evidenceDir);
  const records: Array<{ pack: string; record: RunRecord }> = [];
  for (const pack of existsSync(evidenceDir) ? readdirSync(evidenceDir).filter((d) => d.startsWith('release-')) : []) {
    const dir = join(evidenceDir, pack, 'chaos-dr');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')))
      records.push({ pack, record: JSON.parse(readFileSync(join(dir, f), 'utf8')) as RunRecord });
  }
  const index = buildRunIndex(records);
  if (existsSync(evidenceDir)) writeFileAtomic(join(evidenceDir, 'index.json'), canonicalJson(index));
  if (values.json) {
    const { historyOutput } = await import('./output/history.ts');
    const files = existsSync(evidenceDir) ? [join(evidenceDir, 'index.json')] : [];
    io.out(JSON.stringify(historyOutput(index, { evidenceDir, runs: records.length, files }, ExitCode.pass), null, 2));
    return ExitCode.pass;
  }
  const ms = (v: number | null) => (v === null ? '—' : formatDuration(v));
  io.out(`${records.length} run(s) in ${evidenceDir}`);
  io.out(`MTTR over ${MTTR_TREND_BASIS}`);
  io.out('drill                 runs  baseline MTTR  recent MTTR  change   KPI −30 %  mean TTD');
  for (const d of index.drills)
    io.out(
      `${d.drill.padEnd(21)} ${String(d.runs).padStart(4)}  ${ms(d.baselineMttrMs).padStart(13)}  ${ms(d.recentMttrMs).padStart(11)}  ${d.mttrChange === null ? '—'.padStart(6) : `${(d.mttrChange * 100).toFixed(0)} %`.padStart(6)}   ${d.meetsKpi === null ? '—' : d.meetsKpi ? 'met' : 'not met'}`.padEnd(
        78,
      ) + `  ${ms(d.ttdMeanMs)}`,
    );
  io.out(
    `game-days per quarter: ${
      Object.entries(index.gameDaysPerQuarter)
        .map(([q, n]) => `${q} ${n}`)
        .join(', ') || 'none'
    }`,
  );
  io.out(
    `last successful backout drill: ${index.lastBackout ? `${index.lastBackout.drill} (${index.lastBackout.runId}, ${new Date(index.lastBackout.startedAt).toISOString()})` : 'none'}`,
  );
  return ExitCode.pass;
}
