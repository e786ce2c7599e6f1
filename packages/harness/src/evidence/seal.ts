// Sealing a pack after a write: manifest, then the signed statement whose predicate
// summarises every run in the pack (drill, verdict, headline figures).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { listPackFiles } from './manifest.ts';
import type { RunRecord } from './run-record.ts';
import { signPack } from './sign.ts';

export function packPredicate(packDir: string): Record<string, unknown> {
  const runs = listPackFiles(packDir)
    .filter((p) => p.startsWith('chaos-dr/') && p.endsWith('.json'))
    .map((p) => {
      const r = JSON.parse(readFileSync(join(packDir, p), 'utf8')) as RunRecord;
      return { file: p, runId: r.runId, drill: r.drill, environment: r.environment, verdict: r.verdict, startedAt: r.startedAt, mttrMs: r.measures.mttr?.value ?? null };
    });
  return { tool: 'drillbook', runs };
}

export function sealPack(packDir: string, key: KeyObject): { statementPath: string; keyid: string } {
  return signPack(packDir, key, packPredicate(packDir));
}
