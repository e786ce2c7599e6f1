// Sealing a pack after a write: manifest, then the signed statement whose predicate
// summarises every run in the pack (drill, verdict, headline figures).
//
// Sealing is append-only. The existing statement is verified first (signature with the key in
// use, every signed digest); a process then signs only what was already signed and still
// verifies, plus the files it wrote itself. A deleted run, an edited file, a foreign key or a
// crashed writer's orphan file is refused (exit 4), so a failure cannot vanish from a validly
// signed pack; `reseal` signs the pack as found and records that in reseals.jsonl, for a reviewer.
import { mkdirSync, rmSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { FileLock, isAlive } from '../engine/file-lock.ts';
import { EnvironmentError } from '../errors.ts';
import { forgetWrittenUnder, tempWriter, writeFileAtomic, writtenUnder } from './atomic-write.ts';
import { canonicalJson } from './canonical.ts';
import { MANIFEST, RESEALS, STATEMENT, bakePaths, isBakeRecordPath } from './layout.ts';
import { hashPackFile, readPackFile, walkPack, type PackWalk } from './pack-fs.ts';
import { bakeRecordProblem, isObj, isSafeId, runRecordProblem } from './shapes.ts';
import { keyIdOf, signPack } from './sign.ts';
import { readStatement, signedDigests } from './statement.ts';
import type { RunRecord } from './run-record.ts';

export interface SealOptions {
  /** Files this process wrote (pack-relative or absolute), besides those writeFileAtomic recorded. */
  written?: readonly string[];
  /**
   * Unsigned files placed in the pack by others that the caller vouches for: `drill review`
   * passes the CI artifacts it read (security/, sbom/, rollout/…). Signed, and named in the note.
   */
  adopt?: readonly string[];
  /** Public keys whose earlier statements this seal accepts (the keyring: keys rotated out); the key in use is always accepted. */
  trusted?: readonly KeyObject[];
  /** Sign the pack as found even though it no longer verifies; recorded in reseals.jsonl. */
  reseal?: boolean;
  /** Lines for people: temp files removed, bake files left for their bake, a reseal. */
  note?: (line: string) => void;
  /** Who reseals (default: user@host of this process). */
  actor?: string;
  now?: () => number;
}

export interface SealResult {
  statementPath: string;
  keyid: string;
  /** The files signed (pack-relative), the manifest and statement aside. */
  signed: string[];
  /** Temp files of unfinished writes that were removed. */
  cleaned: string[];
  /** Working files of a bake still running (or to be resumed): not signed yet. */
  pending: string[];
  /** Unsigned files signed because the caller vouched for them (`adopt`). */
  adopted: string[];
  reseal?: ResealEntry;
}

/** One line of reseals.jsonl: what the pack lost or gained outside a sealed write. */
export interface ResealEntry {
  at: string;
  by: string;
  pid: number;
  keyid: string;
  statement: string;
  missing: Array<{ path: string; sha256: string }>;
  changed: Array<{ path: string; signed: string; now: string }>;
  added: Array<{ path: string; sha256: string }>;
  irregular: Array<{ path: string; type: string }>;
}

interface Finding {
  path: string;
  detail: string;
}

/** The run summary the statement carries, from the signed run records only. */
export function packPredicate(packDir: string, files?: readonly string[]): Record<string, unknown> {
  const walk = walkPack(packDir);
  const paths = files ?? [...walk.files.keys()];
  const runs: Array<Record<string, unknown>> = [];
  for (const p of [...paths].sort()) {
    const entry = walk.files.get(p);
    if (!entry || !p.startsWith('chaos-dr/') || !p.endsWith('.json')) continue;
    let r: unknown;
    try {
      r = JSON.parse(readPackFile(packDir, p, entry).toString('utf8'));
    } catch (err) {
      runs.push({ file: p, malformed: (err as Error).message });
      continue;
    }
    const bad = runRecordProblem(r);
    if (bad) {
      runs.push({ file: p, malformed: bad });
      continue;
    }
    const rec = r as RunRecord;
    const mttrMs = rec.measures.mttr?.value ?? null;
    runs.push({ file: p, runId: rec.runId, drill: rec.drill, environment: rec.environment, verdict: rec.verdict, startedAt: rec.startedAt, mttrMs });
  }
  return { tool: 'drillbook', runs };
}

function whoAmI(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `${process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`}@${hostname()}`;
  }
}

const parseJsonFile = (packDir: string, walk: PackWalk, path: string): unknown => {
  const entry = walk.files.get(path);
  if (!entry) return undefined;
  try {
    return JSON.parse(readPackFile(packDir, path, entry).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * A bake record this process wrote vouches for the checkpoint files and state it was built
 * from, even those a crashed earlier process of the same bake wrote before it was resumed:
 * verify compares each checkpoint file with the record, so none can be swapped unseen.
 */
function adoptedByBakeRecords(packDir: string, walk: PackWalk, written: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const p of written) {
    if (!isBakeRecordPath(p)) continue;
    const rec = parseJsonFile(packDir, walk, p);
    if (bakeRecordProblem(rec)) continue;
    const b = rec as { bake: string; startedAt: number; checkpoints: Array<{ index: number }> };
    const paths = bakePaths('', b.bake);
    for (const c of b.checkpoints) out.add(paths.checkpoint(b.startedAt, c.index));
    const state = parseJsonFile(packDir, walk, paths.state);
    if (isObj(state) && state.bake === b.bake && state.startedAt === b.startedAt) out.add(paths.state);
  }
  return out;
}

/** A bake's state or checkpoint file whose bake has no record yet: a bake still running or to be resumed. */
function isPendingBakeFile(packDir: string, walk: PackWalk, path: string): boolean {
  const cp = /^bake\/checkpoints\/([A-Za-z0-9][A-Za-z0-9._-]*)-(\d{8}T\d{6})-\d{4,}\.json$/.exec(path);
  if (cp) return !walk.files.has(`bake/bake-${cp[1]}-${cp[2]}.json`);
  const st = /^bake\/([A-Za-z0-9][A-Za-z0-9._-]*)\.state\.json$/.exec(path);
  if (!st) return false;
  const state = parseJsonFile(packDir, walk, path);
  if (!isObj(state) || state.bake !== st[1] || !isSafeId(state.bake) || !Number.isSafeInteger(state.startedAt)) return false;
  return !walk.files.has(bakePaths('', st[1]!).result(state.startedAt as number));
}

/** Temp files no live writer owns are leftovers of a crash: removed. A live writer's are left alone. */
function cleanTemps(packDir: string, walk: PackWalk): { cleaned: string[]; inFlight: string[] } {
  const cleaned: string[] = [];
  const inFlight: string[] = [];
  for (const t of walk.temps) {
    const pid = tempWriter(t);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) inFlight.push(t);
    else {
      rmSync(join(packDir, t), { force: true });
      cleaned.push(t);
    }
  }
  return { cleaned, inFlight };
}

const relativeTo = (packDir: string, p: string) => (isAbsolute(p) ? relative(packDir, p).split(sep).join('/') : p);

export function sealPack(packDir: string, key: KeyObject, options: SealOptions = {}): SealResult {
  const note = options.note ?? (() => {});
  const publicKey = createPublicKey(key);
  const keyid = keyIdOf(publicKey);
  let walk = walkPack(packDir);
  const { cleaned, inFlight } = cleanTemps(packDir, walk);
  if (cleaned.length) note(`removed ${cleaned.length} temp file(s) of unfinished writes (a crashed write), not signed: ${cleaned.join(', ')}`);
  if (inFlight.length) note(`left ${inFlight.length} temp file(s) of writes still in progress in other processes, not signed: ${inFlight.join(', ')}`);
  walk = walkPack(packDir);

  const isContent = (p: string) => p !== MANIFEST && p !== STATEMENT;
  const claimed = [...writtenUnder(packDir), ...(options.written ?? []).map((p) => relativeTo(packDir, p))];
  const written = new Set(claimed.filter((p) => isContent(p) && walk.files.has(p)));
  const problems: Finding[] = [];
  const entry: ResealEntry = { at: '', by: '', pid: process.pid, keyid, statement: 'verified', missing: [], changed: [], added: [], irregular: [] };

  // 1. The existing statement, checked with the key this process signs with.
  const existing = readStatement(packDir, walk, [publicKey, ...(options.trusted ?? [])]);
  const signed = new Map<string, string>();
  if (existing.present) {
    for (const p of existing.problems) problems.push({ path: STATEMENT, detail: p });
    const badSignature = `the signature does not verify with the key in use (keyid ${keyid.slice(0, 16)}…) or its keyring: signed with another key, or edited`;
    if (existing.signature === 'bad') problems.push({ path: STATEMENT, detail: badSignature });
    if (existing.problems.length || existing.signature === 'bad') entry.statement = problems.map((f) => f.detail).join('; ');
    if (existing.statement) for (const [name, digest] of signedDigests(existing.statement)) if (isContent(name)) signed.set(name, digest);
  } else if (walk.files.has(MANIFEST)) {
    entry.statement = 'none (a manifest without a statement: never sealed)';
  } else {
    entry.statement = 'none';
  }

  // 2. Every signed file still there with its signed digest (unless this process rewrote it).
  const keep = new Set<string>();
  const changedPaths = new Set<string>();
  for (const [path, digest] of signed) {
    const e = walk.files.get(path);
    if (written.has(path)) continue;
    if (!e) {
      const odd = walk.irregular.find((x) => x.path === path);
      problems.push({ path, detail: odd ? `signed, now ${odd.type}` : 'signed, now missing: deleted after it was sealed' });
      entry.missing.push({ path, sha256: digest });
      continue;
    }
    const now = hashPackFile(packDir, path, e).sha256;
    if (now === digest) keep.add(path);
    else if (isPendingBakeFile(packDir, walk, path))
      continue; // a bake's state file rewritten by the next bake
    else {
      problems.push({ path, detail: `signed with sha256 ${digest.slice(0, 12)}…, now ${now.slice(0, 12)}…: changed after it was sealed` });
      entry.changed.push({ path, signed: digest, now });
      changedPaths.add(path);
    }
  }

  // 3. Files neither signed nor written here: a running bake's, or orphans (crash, or by hand).
  const adopted = adoptedByBakeRecords(packDir, walk, written);
  const vouched = new Set((options.adopt ?? []).map((p) => relativeTo(packDir, p)).filter((p) => isContent(p) && walk.files.has(p) && !signed.has(p)));
  for (const p of vouched) adopted.add(p);
  if (vouched.size) note(`signed ${vouched.size} file(s) added to the pack by others, vouched for by this command: ${[...vouched].sort().join(', ')}`);
  const pending: string[] = [];
  const orphans: string[] = [];
  for (const path of walk.files.keys()) {
    if (!isContent(path) || keep.has(path) || written.has(path) || adopted.has(path) || changedPaths.has(path)) continue;
    if (isPendingBakeFile(packDir, walk, path)) pending.push(path);
    else if (!signed.has(path)) orphans.push(path);
  }
  for (const path of orphans) {
    problems.push({ path, detail: 'not signed and not written by this process: left by a run that crashed before sealing, or added by hand' });
    entry.added.push({ path, sha256: hashPackFile(packDir, path, walk.files.get(path)!).sha256 });
  }
  for (const odd of walk.irregular) {
    if (signed.has(odd.path)) continue; // reported above as missing
    problems.push({ path: odd.path, detail: `${odd.type}: a pack holds regular files only` });
    entry.irregular.push(odd);
  }
  if (pending.length)
    note(`left ${pending.length} file(s) of a bake still running or to be resumed unsigned (its record will vouch for them): ${pending.join(', ')}`);

  if (problems.length && !options.reseal) {
    throw new EnvironmentError(
      [
        `refusing to seal ${packDir}: it no longer matches its signed statement, and sealing it as found would hide that`,
        ...problems.map((p) => `  ${p.path}: ${p.detail}`),
        'Nothing was signed. Restore or remove those files and run again, or seal with --reseal to sign the pack as it is now;',
        `the reseal is recorded in the pack (${RESEALS}).`,
      ].join('\n'),
    );
  }

  const toSign = new Set([...keep, ...written, ...adopted]);
  let reseal: ResealEntry | undefined;
  if (problems.length) {
    for (const p of [...orphans, ...changedPaths]) toSign.add(p);
    reseal = { ...entry, at: new Date((options.now ?? Date.now)()).toISOString(), by: options.actor ?? whoAmI() };
    const prior = parseReseals(packDir, walkPack(packDir));
    writeFileAtomic(join(packDir, RESEALS), [...prior.lines, canonicalJson(reseal)].join('\n') + '\n');
    toSign.add(RESEALS);
    note(`resealed ${packDir} as found (${problems.length} problem(s) recorded in ${RESEALS}): ${problems.map((p) => p.path).join(', ')}`);
  }
  const files = [...toSign].sort();
  const predicate = { ...packPredicate(packDir, files), ...(toSign.has(RESEALS) ? { reseals: parseReseals(packDir, walkPack(packDir)).entries.length } : {}) };
  const { statementPath } = signPack(packDir, key, predicate, files);
  forgetWrittenUnder(packDir);
  return { statementPath, keyid, signed: files, cleaned, pending, adopted: [...vouched].sort(), ...(reseal ? { reseal } : {}) };
}

/** reseals.jsonl as lines and parsed entries (lines that are not JSON objects are kept, not parsed). */
export function parseReseals(packDir: string, walk: PackWalk): { lines: string[]; entries: ResealEntry[] } {
  const e = walk.files.get(RESEALS);
  if (!e) return { lines: [], entries: [] };
  const lines = readPackFile(packDir, RESEALS, e)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const entries: ResealEntry[] = [];
  for (const l of lines) {
    try {
      const v: unknown = JSON.parse(l);
      if (isObj(v)) entries.push(v as unknown as ResealEntry);
    } catch {
      // kept as a line; verify reports the file as it is
    }
  }
  return { lines, entries };
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
