// Sealing a pack after a write: manifest, then the signed statement whose predicate
// summarises every run in the pack (drill, verdict, headline figures).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FileLock } from '../engine/file-lock.ts';
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

/**
 * Runs a write-then-seal of a pack holding `<pack>.lock` beside it: two harness processes
 * writing into one release (parallel CI jobs) would otherwise each seal a manifest missing
 * the other's files. The work inside must be synchronous (it is: atomic file writes).
 */
export function withPackLock<T>(packDir: string, fn: () => T): T {
  mkdirSync(dirname(packDir), { recursive: true });
  return new FileLock(`${packDir}.lock`, 120_000).withLock(fn);
}
