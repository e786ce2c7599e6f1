// Episodes and their times: t_inject, t_impact, t_detect, t_recover, TTD, TTR, MTTR.
// Pure functions of the run log and the plan (DESIGN.md, "Measures"). Rules:
// - A probe result is placed at the time it was SENT (`started`), as a probe observes
//   the system at the moment it asks.
// - t_impact: the first failed steady-state result sent at or after t_inject, or (ttr.v2) the
//   start of the first second of the load whose SLI breached a declared SLO's objective,
//   whichever is first (see `sliBreach`).
// - t_recover: the start of the first run of N consecutive passing results after the
//   impact. A run starts when every probe's latest result passes, is broken by a failure
//   of ANY steady-state probe, and is complete when EVERY probe has N passes in it
//   (for one probe: N consecutive passes). With SLO impact, also N consecutive load seconds
//   within every objective; t_recover is the later of the two.
// - A fault with no failed result and no SLI breach before the next episode had no visible
//   impact: TTR is 0, the episode is flagged `noImpact`, and it is not an incident (mttr.v2).
// - t_detect: the first transition to `firing` of an expected alert at or after t_inject,
//   as Prometheus' own alert state shows it when the run polled one; what Alertmanager
//   delivered counts only for an alert Prometheus never showed firing. Both times are kept.
// - recoveredBy: how the episode recovered (`RecoveredBy`), from the order of t_recover, the
//   team's mitigation and the harness's revert in the log.
// Generation 1 (ttr.v1, impact.v1, mttr.v1) is probe-only and kept so records written before
// SLO impact still re-derive; a record's mttr formula id tells which generation it used.
import type { DrillPlan } from '../define/types.ts';
import type { RunEvent } from '../engine/types.ts';
import type { SloTarget } from './burn.ts';
import type { Measure } from './types.ts';

type ProbeEvent = Extract<RunEvent, { kind: 'probe' }>;
type AlertEvent = Extract<RunEvent, { kind: 'alert' }>;
type LoadSampleEvent = Extract<RunEvent, { kind: 'load.sample' }>;
type MitigationEvent = Extract<RunEvent, { kind: 'mitigation' }>;
type RevertingEvent = Extract<RunEvent, { kind: 'fault.reverting' }>;

/**
 * How an episode recovered:
 * - `self-healed`: while the fault was still in (a supervisor restarted a replica, a balancer routed around it);
 * - `after-revert`: only once the harness took the fault out (its recovery tail is t_recover − t_reverted);
 * - `remediated`: after the team's own mitigation (an alert-driven script, a person) and before any harness revert;
 * - `not-recovered`: impact, and no recovery before the run ended;
 * - `no-impact`: nothing a probe or an SLI saw: not an incident.
 */
export type RecoveredBy = 'self-healed' | 'after-revert' | 'remediated' | 'not-recovered' | 'no-impact';

/** Formula generation: 1 = probe-only impact (records before SLO impact), 2 = probes and SLIs. */
export type MeasureGeneration = 1 | 2;

export interface EpisodeOptions {
  /** Declared SLOs whose SLI, read from the load's per-second samples, can show impact (generation 2). */
  slos?: Readonly<Record<string, SloTarget>>;
  /** @default 2 */
  generation?: MeasureGeneration;
}

/** The generation a record's measures were made with: its mttr formula id tells (mttr.v1 → 1). */
export function generationOf(measures: Readonly<Record<string, { formula: string } | undefined>>): MeasureGeneration {
  return measures.mttr?.formula === 'mttr.v1' ? 1 : 2;
}

/** One load second whose SLI breached a declared SLO's objective. */
export interface SliBreach {
  sloId: string;
  sli: 'availability' | 'latency';
  /** What was measured against what, e.g. `p99 761 ms > 500 ms`. */
  detail: string;
}

// The per-second percentiles a load sample carries, highest level first.
const QUANTILES = [
  { level: 0.99, key: 'p99Ms' },
  { level: 0.95, key: 'p95Ms' },
  { level: 0.5, key: 'p50Ms' },
] as const;

/**
 * Whether one load second breached an SLO's objective. Availability: failed/requests above the
 * error budget. Latency: a second's q-quantile above the threshold means more than 1 − q of its
 * requests were slower; q is the highest recorded quantile at or below the objective, so a breach
 * is never claimed that did not happen (for 99.9 % only p99 is known: a breach may go unseen).
 * A second without requests says nothing.
 */
export function sliBreach(
  s: Pick<LoadSampleEvent, 'requests' | 'failures' | 'p50Ms' | 'p95Ms' | 'p99Ms'>,
  sloId: string,
  slo: SloTarget,
): SliBreach | undefined {
  if (s.requests <= 0) return undefined;
  if (slo.sli?.kind === 'latency') {
    const q = QUANTILES.find((x) => x.level <= slo.objective + 1e-12);
    const v = q ? s[q.key] : 0;
    if (!q || v <= slo.sli.thresholdMs) return undefined;
    return { sloId, sli: 'latency', detail: `p${q.level * 100} ${Math.round(v)} ms > ${slo.sli.thresholdMs} ms` };
  }
  const budget = Number((1 - slo.objective).toPrecision(12));
  if (s.failures / s.requests <= budget) return undefined;
  return { sloId, sli: 'availability', detail: `${s.failures}/${s.requests} requests failed > ${Number((budget * 100).toPrecision(4))} % budget` };
}

function breachesOf(s: LoadSampleEvent, slos: ReadonlyArray<[string, SloTarget]>): SliBreach[] {
  return slos.map(([id, slo]) => sliBreach(s, id, slo)).filter((b): b is SliBreach => b !== undefined);
}

// A load sample covers the second ending at its `t` (the runner's 1 s ticker).
const SAMPLE_MS = 1_000;

export interface Episode {
  faultId: string;
  phase: string;
  faultKind: string;
  targets: string[];
  tInject: number;
  tImpact: number | undefined;
  tDetect: number | undefined;
  tRecover: number | undefined;
  tReverted: number | undefined;
  noImpact: boolean;
  /** How it recovered; see `RecoveredBy`. */
  recoveredBy: RecoveredBy;
  /** The SLIs that breached in the first breaching second, when an SLI showed the impact. */
  sloImpact: SliBreach[];
  injectFailed: boolean;
  expectedAlerts: string[];
  /** Expected alerts and when each first fired (undefined: never). */
  alertsFired: Record<string, number | undefined>;
  /** The same, per source: Prometheus' alert state and Alertmanager's notification. */
  alertsFiredBySource: Record<string, { prometheus?: number; alertmanager?: number }>;
  /** Page/critical alerts that fired in this episode without being expected. */
  unexpectedAlerts: string[];
  recoverWithin: number | undefined;
  ttd: Measure;
  ttr: Measure;
  impact: Measure;
  /** t_recover − t_reverted, for an episode that recovered only after the harness took its fault out. */
  recoveryTail?: Measure;
  /** Time to mitigate (mitigation start − t_inject), when the team's mitigation measure is present (issue #14 item 4). */
  ttm?: Measure;
  /** Rollback duration (mitigation start → t_recover), beside `ttm` (measure/mitigation.ts). */
  rollback?: Measure;
}

function firstIndex<T>(items: readonly T[], pred: (x: T) => boolean, from = 0): number {
  for (let i = from; i < items.length; i++) if (pred(items[i]!)) return i;
  return -1;
}

/**
 * The start of the first run of `n` consecutive passing results of every probe, scanning
 * results (sorted by send time) from index `from`. The run starts when every probe's
 * latest result passes (the system as a whole looks healthy); any failure ends it.
 * Returns the index of the run's first result, or -1.
 */
export function findRecovery(results: readonly ProbeEvent[], probes: readonly string[], n: number, from: number): number {
  const latest = new Map<string, boolean>();
  for (let i = 0; i < from; i++) latest.set(results[i]!.probe, results[i]!.ok);
  const counts = new Map<string, number>();
  let start = -1;
  for (let i = from; i < results.length; i++) {
    const r = results[i]!;
    latest.set(r.probe, r.ok);
    if (!r.ok) {
      start = -1;
      continue;
    }
    if (start < 0) {
      if (!probes.every((p) => latest.get(p) === true)) continue;
      start = i;
      counts.clear();
    }
    counts.set(r.probe, (counts.get(r.probe) ?? 0) + 1);
    if (probes.every((p) => (counts.get(p) ?? 0) >= n)) return start;
  }
  return -1;
}

const msMeasure = (value: number | null, formula: string, inputs: Record<string, unknown>, note?: string): Measure => ({
  value,
  unit: 'ms',
  formula,
  inputs,
  ...(note ? { note } : {}),
});

/**
 * The SLI side of an episode: the first breaching load second in (tInject, nextStart] and the start
 * of the first run of `n` consecutive seconds within every objective after it (seconds without
 * requests neither count nor break the run). Indices into `samples`.
 */
function sliImpact(samples: readonly LoadSampleEvent[], slos: ReadonlyArray<[string, SloTarget]>, tInject: number, nextStart: number, n: number) {
  if (slos.length === 0) return undefined;
  let at = -1;
  let breaches: SliBreach[] = [];
  for (let i = 0; i < samples.length && samples[i]!.t - SAMPLE_MS < nextStart; i++) {
    if (samples[i]!.t <= tInject) continue;
    breaches = breachesOf(samples[i]!, slos);
    if (breaches.length) {
      at = i;
      break;
    }
  }
  if (at < 0) return undefined;
  let run: LoadSampleEvent[] = [];
  for (let j = at + 1; j < samples.length && run.length < n; j++) {
    const s = samples[j]!;
    if (s.requests <= 0) continue;
    if (breachesOf(s, slos).length) run = [];
    else run.push(s);
  }
  const recovered = run.length >= n;
  return {
    at,
    breaches,
    tImpact: Math.max(tInject, samples[at]!.t - SAMPLE_MS),
    tRecover: recovered ? run[0]!.t - SAMPLE_MS : undefined,
    run: recovered ? run : [],
  };
}

/** How an episode recovered, from the order of its recovery, the team's mitigation and the harness's revert. */
function classifyRecovery(
  hadImpact: boolean,
  tRecover: number | undefined,
  mitigation: MitigationEvent | undefined,
  reverting: RevertingEvent | undefined,
): RecoveredBy {
  if (!hadImpact) return 'no-impact';
  if (tRecover === undefined) return 'not-recovered';
  // The harness's revert after a mitigation (reason 'mitigated') is the mitigation's, not the harness's.
  const harnessRevert = reverting && reverting.reason !== 'mitigated' ? reverting : undefined;
  if (mitigation && mitigation.t <= tRecover && (!harnessRevert || mitigation.t <= harnessRevert.t)) return 'remediated';
  if (harnessRevert && tRecover >= harnessRevert.t) return 'after-revert';
  return 'self-healed';
}

/** Splits a run log into episodes and measures each. Event indices in derivations refer to `events`. */
export function measureEpisodes(events: readonly RunEvent[], plan: DrillPlan, opts: EpisodeOptions = {}): Episode[] {
  const generation = opts.generation ?? 2;
  const v = generation === 1 ? 'v1' : 'v2';
  const slos = generation === 1 ? [] : Object.entries(opts.slos ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const probeNames = plan.steadyState.map((p) => p.name);
  const indexOf = new Map<RunEvent, number>();
  events.forEach((e, i) => indexOf.set(e, i));
  const results = events.filter((e): e is ProbeEvent => e.kind === 'probe').sort((a, b) => a.started - b.started || a.t - b.t);
  const samples = events.filter((e): e is LoadSampleEvent => e.kind === 'load.sample').sort((a, b) => a.t - b.t);
  const alerts = events.filter((e): e is AlertEvent => e.kind === 'alert');
  const injecting = events.filter((e): e is Extract<RunEvent, { kind: 'fault.injecting' }> => e.kind === 'fault.injecting');
  // A loop, not a spread into Math.max: spreading a long run's events (>~125k) overflows the call stack.
  let runEnd = events.length ? -Infinity : 0;
  for (const e of events) if (e.t > runEnd) runEnd = e.t;

  const starts = injecting.map((inj) => {
    const done = events.find((e) => (e.kind === 'fault.injected' || e.kind === 'fault.inject-failed') && e.faultId === inj.faultId);
    return { inj, done, tInject: done?.kind === 'fault.injected' ? done.t : inj.t };
  });

  return starts.map(({ inj, done }, k) => {
    const tInject = done?.kind === 'fault.injected' ? done.t : inj.t;
    const nextStart = starts[k + 1]?.tInject ?? runEnd + 1;
    const phase = plan.phases.find((p) => p.name === inj.phase);
    const expected = phase?.expect?.alerts ?? [];
    const reverting = events.find((e): e is RevertingEvent => e.kind === 'fault.reverting' && e.faultId === inj.faultId);
    const reverted = events.find((e) => e.kind === 'fault.reverted' && e.faultId === inj.faultId);
    const mitigation = events.find((e): e is MitigationEvent => e.kind === 'mitigation' && e.faultId === inj.faultId && e.ok);

    // Impact and recovery, within this episode's stretch of results.
    const from = firstIndex(results, (r) => r.started >= tInject);
    const impactAt = from < 0 ? -1 : firstIndex(results, (r) => !r.ok && r.started < nextStart, from);
    const impact = impactAt >= 0 ? results[impactAt]! : undefined;
    let recovery: ProbeEvent | undefined;
    let recoveryRun: ProbeEvent[] = [];
    if (impact) {
      const at = findRecovery(results, probeNames, plan.recoveryPasses, impactAt);
      if (at >= 0) {
        recovery = results[at]!;
        recoveryRun = results.slice(at, at + probeNames.length * plan.recoveryPasses);
      }
    }
    const sli = sliImpact(samples, slos, tInject, nextStart, Math.max(1, plan.recoveryPasses));

    // Alerts: first firing of each expected one after t_inject, and unexpected pages.
    const alertsFired: Record<string, number | undefined> = {};
    const alertsFiredBySource: Episode['alertsFiredBySource'] = {};
    const alertIdx: number[] = [];
    for (const name of expected) {
      const first = (source: AlertEvent['source']) => alerts.find((e) => e.alert === name && e.state === 'firing' && e.t >= tInject && e.source === source);
      const [prom, am] = [first('prometheus'), first('alertmanager')];
      const a = prom ?? am;
      alertsFired[name] = a?.t;
      alertsFiredBySource[name] = { ...(prom ? { prometheus: prom.t } : {}), ...(am ? { alertmanager: am.t } : {}) };
      if (a) alertIdx.push(indexOf.get(a)!);
    }
    const detect = Object.values(alertsFired).filter((t): t is number => t !== undefined);
    const tDetect = detect.length ? detect.reduce((a, b) => Math.min(a, b)) : undefined;
    const unexpected = [
      ...new Set(
        alerts
          .filter(
            (e) =>
              e.state === 'firing' &&
              e.t >= tInject &&
              e.t < nextStart &&
              !expected.includes(e.alert) &&
              ['critical', 'page'].includes(e.labels.severity ?? ''),
          )
          .map((e) => e.alert),
      ),
    ];

    const hadImpact = Boolean(impact || sli);
    const tImpact = impact && sli ? Math.min(impact.started, sli.tImpact) : (impact?.started ?? sli?.tImpact);
    const noImpact = !hadImpact && done?.kind === 'fault.injected';
    // With both kinds of impact, recovery needs both: the later of the two.
    const probeRecovered = impact ? recovery?.started : undefined;
    const recovered = (!impact || probeRecovered !== undefined) && (!sli || sli.tRecover !== undefined);
    const tRecover = hadImpact ? (recovered ? Math.max(probeRecovered ?? -Infinity, sli?.tRecover ?? -Infinity) : undefined) : noImpact ? tInject : undefined;
    const recoveredBy = classifyRecovery(hadImpact, hadImpact ? tRecover : undefined, mitigation, reverting);
    const injIdx = done ? indexOf.get(done)! : indexOf.get(inj)!;
    const sliInputs = sli ? { sliEvent: indexOf.get(samples[sli.at]!), sliBreaches: sli.breaches, sliRecoveryEvents: sli.run.map((r) => indexOf.get(r)) } : {};
    const sliNote = sli ? `SLO impact: ${sli.breaches.map((b) => `${b.sloId} ${b.sli} ${b.detail}`).join('; ')}` : undefined;
    const ttr = msMeasure(
      tRecover === undefined ? null : tRecover - tInject,
      `ttr.${v}`,
      {
        injectEvent: injIdx,
        impactEvent: impact ? indexOf.get(impact) : null,
        recoveryRunEvents: recoveryRun.map((r) => indexOf.get(r)),
        recoveryPasses: plan.recoveryPasses,
        probes: probeNames,
        ...(generation === 2 ? { slos: slos.map(([id]) => id), recoveredBy, ...sliInputs } : {}),
      },
      noImpact
        ? generation === 2
          ? 'no steady-state probe failed and no declared SLI breached: no visible impact, not an incident'
          : 'no steady-state probe failed: no visible impact'
        : tRecover === undefined
          ? 'not recovered before the run ended'
          : undefined,
    );
    const ttd = msMeasure(
      tDetect === undefined ? null : tDetect - tInject,
      'ttd.v2',
      { injectEvent: injIdx, alertEvents: alertIdx, expected, firedBySource: alertsFiredBySource },
      expected.length === 0 ? 'no alert expected' : tDetect === undefined ? 'no expected alert fired' : undefined,
    );
    const sliFirst = sli && (!impact || sli.tImpact < impact.started);
    const impactMeasure = msMeasure(
      tImpact === undefined ? null : tImpact - tInject,
      `impact.${v}`,
      { injectEvent: injIdx, impactEvent: impact ? indexOf.get(impact) : null, ...(generation === 2 ? sliInputs : {}) },
      sliFirst
        ? `${sliNote} (first breaching second, before any probe failed)`
        : impact
          ? `probe '${impact.probe}' failed${sli ? `; ${sliNote}` : ''}`
          : undefined,
    );
    const recoveryTail =
      generation === 2 && recoveredBy === 'after-revert' && tRecover !== undefined
        ? msMeasure(
            tRecover - (reverted?.t ?? reverting!.t),
            'recovery-tail.v1',
            { recoverAt: tRecover, revertedEvent: indexOf.get(reverted ?? reverting!) },
            'recovered only after the harness took the fault out: t_recover − t_reverted',
          )
        : undefined;

    return {
      faultId: inj.faultId,
      phase: inj.phase,
      faultKind: String(inj.fault.kind),
      targets: done?.kind === 'fault.injected' ? done.targets : [],
      tInject,
      tImpact,
      tDetect,
      tRecover,
      tReverted: reverted?.t,
      noImpact,
      recoveredBy,
      sloImpact: sli?.breaches ?? [],
      injectFailed: done?.kind === 'fault.inject-failed' || !done,
      expectedAlerts: expected,
      alertsFired,
      alertsFiredBySource,
      unexpectedAlerts: unexpected,
      recoverWithin: phase?.expect?.recoverWithin,
      ttd,
      ttr,
      impact: impactMeasure,
      ...(recoveryTail ? { recoveryTail } : {}),
    };
  });
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/**
 * MTTR. mttr.v2 (default): the mean TTR over incidents, episodes that had impact and recovered;
 * a fault nobody saw is not an incident, so adding a harmless one no longer halves MTTR.
 * mttr.v1: the mean over every episode with a TTR, no-impact zeros included (records before #14).
 */
export function mttr(episodes: readonly Episode[], formula: 'mttr.v1' | 'mttr.v2' = 'mttr.v2'): Measure {
  if (formula === 'mttr.v1') {
    const recovered = episodes.filter((e) => e.ttr.value !== null);
    return {
      value: mean(recovered.map((e) => e.ttr.value as number)),
      unit: 'ms',
      formula: 'mttr.v1',
      inputs: { ttr: recovered.map((e) => ({ faultId: e.faultId, ttr: e.ttr.value })) },
    };
  }
  const incidents = episodes.filter((e) => e.recoveredBy !== 'no-impact');
  const recovered = incidents.filter((e) => e.ttr.value !== null);
  const left = episodes.length - incidents.length;
  const lost = incidents.length - recovered.length;
  const note = [
    `${incidents.length} of ${episodes.length} episode(s) had impact`,
    ...(left ? [`${left} without impact left out: not incidents`] : []),
    ...(lost ? [`${lost} not recovered`] : []),
  ].join('; ');
  return {
    value: mean(recovered.map((e) => e.ttr.value as number)),
    unit: 'ms',
    formula: 'mttr.v2',
    inputs: {
      ttr: recovered.map((e) => ({ faultId: e.faultId, phase: e.phase, ttr: e.ttr.value, recoveredBy: e.recoveredBy })),
      episodes: episodes.length,
      incidents: incidents.length,
      excluded: episodes.filter((e) => !recovered.includes(e)).map((e) => ({ faultId: e.faultId, phase: e.phase, recoveredBy: e.recoveredBy })),
    },
    note,
  };
}

/** How many episodes had impact (the incidents MTTR is over), with the count of each way of recovering. */
export function incidentCount(episodes: readonly Episode[]): Measure {
  const byRecovery: Partial<Record<RecoveredBy, number>> = {};
  for (const e of episodes) byRecovery[e.recoveredBy] = (byRecovery[e.recoveredBy] ?? 0) + 1;
  const incidents = episodes.filter((e) => e.recoveredBy !== 'no-impact').length;
  return {
    value: incidents,
    unit: 'count',
    formula: 'incidents.v1',
    inputs: { episodes: episodes.length, byRecovery },
    note: `${incidents} of ${episodes.length} episode(s) had impact`,
  };
}

/** The ways of recovering that are the system's or the team's own, not the harness's revert. */
export const OWN_RECOVERY: readonly RecoveredBy[] = ['self-healed', 'remediated'];

/**
 * Mean TTR over self-healed and remediated episodes: the MTTR `drill history` trends. An episode
 * that recovered only after the harness took the fault out measures the drill's timer, not recovery.
 */
export function mttrOwnRecovery(episodes: readonly Episode[]): Measure {
  const own = episodes.filter((e) => OWN_RECOVERY.includes(e.recoveredBy) && e.ttr.value !== null);
  return {
    value: mean(own.map((e) => e.ttr.value as number)),
    unit: 'ms',
    formula: 'mttr-own.v1',
    inputs: { ttr: own.map((e) => ({ faultId: e.faultId, phase: e.phase, ttr: e.ttr.value, recoveredBy: e.recoveredBy })) },
    note: 'mean TTR of self-healed and remediated episodes only (not after-revert, no-impact or not-recovered)',
  };
}

/** MTTR across runs (a trend): the mean of every recovered episode of every run. */
export function mttrAcrossRuns(runs: ReadonlyArray<{ runId: string; episodes: ReadonlyArray<{ ttr: number | null }> }>): {
  value: number | null;
  episodes: number;
} {
  const all = runs.flatMap((r) => r.episodes.map((e) => e.ttr)).filter((t): t is number => t !== null);
  return { value: all.length ? all.reduce((a, b) => a + b, 0) / all.length : null, episodes: all.length };
}
