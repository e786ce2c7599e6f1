// Where things go in an evidence pack (DESIGN.md, "Evidence pack").
import { join } from 'node:path';

export const PACK_DIRS = ['rollout', 'chaos-dr', 'bake', 'bake/checkpoints', 'synthetics', 'traces', 'load'] as const;
export const MANIFEST = 'manifest.json';
export const STATEMENT = 'statement.intoto.json';
/** One line per reseal: a pack signed as found although it no longer matched its statement. */
export const RESEALS = 'reseals.jsonl';

export function packDir(evidenceDir: string, release: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(release)) throw new Error(`release tag '${release}' may only hold letters, digits, dots, dashes and underscores`);
  return join(evidenceDir, `release-${release}`);
}

/** `run-YYYYMMDD-HHMMSS.json` in UTC from the run's start. */
export function runFileName(startedAt: number, suffix = ''): string {
  const iso = new Date(startedAt).toISOString();
  return `run-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${suffix}.json`;
}

const stamp = (t: number) => new Date(t).toISOString().replace(/[-:]/g, '').slice(0, 15);

/** A bake's files: its resumable state, one file per checkpoint, and the final record. */
export const bakePaths = (packDir: string, bake: string) => ({
  state: join(packDir, 'bake', `${bake}.state.json`),
  checkpoint: (startedAt: number, i: number) => join(packDir, 'bake', 'checkpoints', `${bake}-${stamp(startedAt)}-${String(i).padStart(4, '0')}.json`),
  result: (startedAt: number) => join(packDir, 'bake', `bake-${bake}-${stamp(startedAt)}.json`),
});

/** Pack paths of bake records (`bake/bake-<name>-<stamp>.json`, not the state files). */
export const isBakeRecordPath = (p: string) => /^bake\/bake-[^/]+-\d{8}T\d{6}\.json$/.test(p);
