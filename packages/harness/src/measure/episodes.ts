// Episodes and their times: t_inject, t_impact, t_detect, t_recover, TTD, TTR, MTTR.
// Pure functions of the run log and the plan (DESIGN.md, "Measures"). Rules:
// - A probe result is placed at the time it was SENT (`started`), as a probe observes
//   the system at the moment it asks.
// - t_impact: the first failed steady-state result sent at or after t_inject.
// - t_recover: the start of the first run of N consecutive passing results after the
//   impact. A run starts when every probe's latest result passes, is broken by a failure
//   of ANY steady-state probe, and is complete when EVERY probe has N passes in it
//   (for one probe: N consecutive passes).
// - A fault with no failed result before the next episode had no visible impact:
//   TTR is 0 and the episode is flagged `noImpact`.
// - t_detect: the first transition to `firing` of an expected alert at or after t_inject,
//   as Prometheus' own alert state shows it when the run polled one; what Alertmanager
//   delivered counts only for an alert Prometheus never showed firing. Both times are kept.
import type { DrillPlan } from '../define/types.ts';
import type { RunEvent } from '../engine/types.ts';
import type { Measure } from './types.ts';

type ProbeEvent = Extract<RunEvent, { kind: 'probe' }>;
type AlertEvent = Extract<RunEvent, { kind: 'alert' }>;

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

/** Splits a run log into episodes and measures each. Event indices in derivations refer to `events`. */
export function measureEpisodes(events: readonly RunEvent[], plan: DrillPlan): Episode[] {
  const probeNames = plan.steadyState.map((p) => p.name);
  const indexOf = new Map<RunEvent, number>();
  events.forEach((e, i) => indexOf.set(e, i));
  const results = events.filter((e): e is ProbeEvent => e.kind === 'probe').sort((a, b) => a.started - b.started || a.t - b.t);
  const alerts = events.filter((e): e is AlertEvent => e.kind === 'alert');
  const injecting = events.filter((e): e is Extract<RunEvent, { kind: 'fault.injecting' }> => e.kind === 'fault.injecting');
  // A loop, not Math.max(...): spreading a long run's events (>~125k) overflows the call stack.
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
    const reverted = events.find((e) => e.kind === 'fault.reverted' && e.faultId === inj.faultId);

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
    const tDetect = detect.length ? Math.min(...detect) : undefined;
    const unexpected = [
      ...new Set(
        alerts
          .filter((e) => e.state === 'firing' && e.t >= tInject && e.t < nextStart && !expected.includes(e.alert) && ['critical', 'page'].includes(e.labels.severity ?? ''))
          .map((e) => e.alert),
      ),
    ];

    const noImpact = !impact && done?.kind === 'fault.injected';
    const tRecover = impact ? recovery?.started : noImpact ? tInject : undefined;
    const injIdx = done ? indexOf.get(done)! : indexOf.get(inj)!;
    const ttr = msMeasure(tRecover === undefined ? null : tRecover - tInject, 'ttr.v1', {
      injectEvent: injIdx,
      impactEvent: impact ? indexOf.get(impact) : null,
      recoveryRunEvents: recoveryRun.map((r) => indexOf.get(r)),
      recoveryPasses: plan.recoveryPasses,
      probes: probeNames,
    }, noImpact ? 'no steady-state probe failed: no visible impact' : tRecover === undefined ? 'not recovered before the run ended' : undefined);
    const ttd = msMeasure(tDetect === undefined ? null : tDetect - tInject, 'ttd.v2', { injectEvent: injIdx, alertEvents: alertIdx, expected, firedBySource: alertsFiredBySource }, expected.length === 0 ? 'no alert expected' : tDetect === undefined ? 'no expected alert fired' : undefined);
    const impactMeasure = msMeasure(impact ? impact.started - tInject : null, 'impact.v1', { injectEvent: injIdx, impactEvent: impact ? indexOf.get(impact) : null });

    return {
      faultId: inj.faultId,
      phase: inj.phase,
      faultKind: String(inj.fault.kind),
      targets: done?.kind === 'fault.injected' ? done.targets : [],
      tInject,
      tImpact: impact?.started,
      tDetect,
      tRecover,
      tReverted: reverted?.t,
      noImpact,
      injectFailed: done?.kind === 'fault.inject-failed' || !done,
      expectedAlerts: expected,
      alertsFired,
      alertsFiredBySource,
      unexpectedAlerts: unexpected,
      recoverWithin: phase?.expect?.recoverWithin,
      ttd,
      ttr,
      impact: impactMeasure,
    };
  });
}

/** Mean TTR over the episodes that recovered; null when none did. */
export function mttr(episodes: readonly Episode[]): Measure {
  const recovered = episodes.filter((e) => e.ttr.value !== null);
  const value = recovered.length ? recovered.reduce((s, e) => s + (e.ttr.value as number), 0) / recovered.length : null;
  return { value, unit: 'ms', formula: 'mttr.v1', inputs: { ttr: recovered.map((e) => ({ faultId: e.faultId, ttr: e.ttr.value })) } };
}

/** MTTR across runs (a trend): the mean of every recovered episode of every run. */
export function mttrAcrossRuns(runs: ReadonlyArray<{ runId: string; episodes: ReadonlyArray<{ ttr: number | null }> }>): { value: number | null; episodes: number } {
  const all = runs.flatMap((r) => r.episodes.map((e) => e.ttr)).filter((t): t is number => t !== null);
  return { value: all.length ? all.reduce((a, b) => a + b, 0) / all.length : null, episodes: all.length };
}
