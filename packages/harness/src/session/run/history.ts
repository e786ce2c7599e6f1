// How much synthetic history the local stage's Prometheus starts with, and at what rate. The
// windows come from the generated rule files the stage will load (not from a second copy of
// the SLO conventions): an alert reaches back as far as the longest range in its expression
// or in the recording rules it reads. Pure but for reading the rule files.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseDuration, formatDuration } from '../../define/duration.ts';
import type { LoadProfile } from '../../define/load.ts';

/** With no history configured: the longest window of the expected alerts, at most this. */
export const DEFAULT_HISTORY_CAP_MS = 6 * 3_600_000;

interface Rule {
  alert?: string;
  record?: string;
  expr?: string;
}

/** The longest range selector (`[1h]`, a subquery's `[1h:1m]`) in a PromQL expression, in ms. */
export function longestRange(expr: string): number {
  let longest = 0;
  for (const m of expr.matchAll(/\[\s*([0-9][0-9a-z]*)\s*(?::[^\]]*)?\]/g)) longest = Math.max(longest, parseDuration(m[1]!) ?? 0);
  return longest;
}

/**
 * The longest window each named alert reaches back over, following the recording rules its
 * expression reads (Sloth's `slo:sli_error:ratio_rate1h` holds the `[1h]`). Alerts absent from
 * the rules are left out.
 */
export function alertWindows(rules: readonly Rule[], alertNames: readonly string[]): Map<string, number> {
  const records = new Map<string, string[]>();
  for (const r of rules) if (r.record && r.expr) records.set(r.record, [...(records.get(r.record) ?? []), r.expr]);
  const reach = (expr: string, seen: Set<string>): number => {
    let longest = longestRange(expr);
    for (const [name, exprs] of records) {
      if (seen.has(name) || !new RegExp(`(^|[^a-zA-Z0-9_:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-zA-Z0-9_:])`).test(expr)) continue;
      for (const e of exprs) longest = Math.max(longest, reach(e, new Set([...seen, name])));
    }
    return longest;
  };
  const out = new Map<string, number>();
  for (const r of rules) if (r.alert && r.expr && alertNames.includes(r.alert)) out.set(r.alert, Math.max(out.get(r.alert) ?? 0, reach(r.expr, new Set())));
  return out;
}

/** Every rule of the rule files (*.yaml, *.yml) in a directory. */
export function readRules(rulesDir: string): Rule[] {
  const files = readdirSync(rulesDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const groupsOf = (f: string) => (parse(readFileSync(join(rulesDir, f), 'utf8')) as { groups?: Array<{ rules?: Rule[] }> } | null)?.groups ?? [];
  return files.flatMap((f) => groupsOf(f).flatMap((g) => g.rules ?? []));
}

/** Requests per second the load profile starts with (its arrival-rate scenarios at time 0); 0 when it holds VUs instead. */
export function startRate(profile: Pick<LoadProfile, 'scenarios'>): number {
  let rate = 0;
  for (const s of Object.values(profile.scenarios)) {
    if (s.startTime > 0) continue;
    // A ramp from 0 starts at its first stage's target as soon as it is under way.
    const ramp = s.startRate || (s.stages?.[0]?.target ?? 0);
    const perUnit = s.executor === 'constant-arrival-rate' ? (s.rate ?? 0) : s.executor === 'ramping-arrival-rate' ? ramp : 0;
    rate += (perUnit * 1_000) / (s.timeUnit ?? 1_000);
  }
  return rate;
}

/** The stage's history option (the stage package's HistoryOptions). */
export interface StageHistory {
  lengthMs: number;
  ratePerSecond: number;
  request: { method: string; path: string; status: number };
  errorRatio: number;
}

/** What was decided and why, for the run record (the stage adds what it wrote). */
export interface HistoryDecision {
  lengthMs: number;
  why: string;
}

export interface HistoryChoice {
  decision: HistoryDecision;
  stage?: StageHistory;
}

/**
 * The history for a drill: `configuredMs` when the config gives one (0: none), else the longest
 * window of the expected alerts capped at 6 h; at the load's starting rate with no errors (the
 * healthy stage service answers none). A drill without an arrival-rate load on a path gets none.
 */
export function chooseHistory(i: { configuredMs?: number | undefined; windows: Map<string, number>; load?: LoadProfile | undefined }): HistoryChoice {
  const none = (why: string): HistoryChoice => ({ decision: { lengthMs: 0, why } });
  let lengthMs: number;
  let why: string;
  if (i.configuredMs !== undefined) {
    if (i.configuredMs === 0) return none("history: '0' in the environment's stage config");
    lengthMs = i.configuredMs;
    why = `history: '${formatDuration(lengthMs)}' in the environment's stage config`;
  } else {
    const [alert, longest] = [...i.windows].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? [];
    if (!alert || !longest) return none('the drill expects no alert with a range window');
    lengthMs = Math.min(longest, DEFAULT_HISTORY_CAP_MS);
    const cap = longest > lengthMs ? `, capped at ${formatDuration(DEFAULT_HISTORY_CAP_MS)}` : '';
    why = `longest window of the expected alerts: ${formatDuration(longest)} (${alert})${cap}`;
  }
  if (!i.load) return none('the drill has no load profile: no rate to extend into the past');
  const rate = startRate(i.load);
  if (!(rate > 0)) return none(`load '${i.load.name}' starts with no arrival rate: no rate to extend into the past`);
  if (!i.load.request.path) return none(`load '${i.load.name}' requests a full URL, not a path on the stage service`);
  return {
    decision: { lengthMs, why },
    stage: {
      lengthMs,
      ratePerSecond: rate,
      request: { method: i.load.request.method, path: i.load.request.path, status: i.load.request.expectStatus[0] ?? 200 },
      errorRatio: 0,
    },
  };
}
