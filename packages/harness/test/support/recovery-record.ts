// Run records with known times for how an episode recovers (issue #14): a bad migration rolled
// back by the team's remediation or by the harness's timer, and a nightly-like run with a
// replica loss that heals itself and a slow database seen only by the latency SLI. The
// measures are the real measureRun's, so verify accepts each record untampered.
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { RUN_RECORD_SCHEMA, type RunRecord } from '../../src/evidence/run-record.ts';
import type { SloTarget } from '../../src/measure/burn.ts';
import { measureRun } from '../../src/measure/run.ts';

export const T0 = Date.UTC(2026, 11, 1, 3, 0, 0);
const PERIOD = 30 * 86_400_000;
export const AVAILABILITY: SloTarget = { objective: 0.999, periodMs: PERIOD, sli: { kind: 'ratio' } };
export const LATENCY: SloTarget = { objective: 0.99, periodMs: PERIOD, sli: { kind: 'latency', thresholdMs: 500 } };

type Sample = Omit<Extract<RunEvent, { kind: 'load.sample' }>, 't' | 'kind'>;
const healthy: Sample = { requests: 20, failures: 0, p50Ms: 6, p95Ms: 12, p99Ms: 15, dropped: 0, vus: 2 };

/** A record measured by measureRun from these events, as the run pipeline writes it. */
export function recordFrom(
  drill: string,
  plan: RunRecord['plan'],
  events: RunEvent[],
  slos: Record<string, SloTarget>,
  startedAt: number,
  endedAt: number,
): RunRecord {
  events.sort((a, b) => a.t - b.t);
  // The SLOs are declared as `checks.slo` would declare them (ids in the plan).
  if (Object.keys(slos).length) plan.checks = { ...plan.checks, slo: Object.keys(slos).sort() };
  const m = measureRun({ plan, events, outcome: { status: 'completed', startedAt, endedAt }, slos });
  return {
    schema: RUN_RECORD_SCHEMA,
    runId: `run-${drill}-${startedAt}`,
    drill,
    environment: 'local',
    startedAt,
    endedAt,
    plan,
    events,
    measures: m.measures,
    checks: m.checks,
    verdict: m.verdict,
    exitCode: m.verdict === 'pass' ? 0 : 1,
    slos,
    tool: { name: 'drillbook', version: 'test' },
  };
}

/**
 * A bad migration in at +10 s that breaks the probe. `remediated`: the alert-driven script starts at
 * +14 s and the probe passes from +15 s; `timer`: the harness rolls it back after its 15 s duration
 * and the probe passes from +26 s.
 */
export function rollbackRecord(how: 'remediated' | 'timer', startedAt = T0): RunRecord {
  const plan = defineGameDay({
    name: 'gameday-migration-rollback',
    environments: ['local'],
    steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
    phases: [
      { name: 'warm-up', duration: '10s' },
      {
        name: 'bad-migration',
        fault: fault.migration({ target: 'db', apply: 'ALTER TABLE a RENAME TO b', rollback: 'ALTER TABLE b RENAME TO a', duration: '15s' }),
        expect: { recoverWithin: '60s' },
      },
    ],
  }).plan;
  const tI = startedAt + 10_000;
  const faultId = 'f-migration';
  const up = how === 'remediated' ? tI + 5_000 : tI + 16_000;
  const events: RunEvent[] = [
    { t: startedAt, kind: 'run.started', runId: 'r', drill: plan.name, environment: 'local', clock: 'real' },
    { t: tI - 5, kind: 'fault.injecting', faultId, phase: 'bad-migration', provider: 'local-postgres', fault: { kind: 'migration', target: 'db' } },
    { t: tI, kind: 'fault.injected', faultId, targets: ['db'] },
  ];
  if (how === 'remediated')
    events.push(
      {
        t: tI + 4_000,
        kind: 'mitigation',
        faultId,
        phase: 'bad-migration',
        by: 'alert-remediation',
        alert: 'GraphApiRouteFailing',
        script: 'scripts/rollback-on-alert.ts',
        exitCode: 0,
        ok: true,
      },
      { t: tI + 4_600, kind: 'fault.reverting', faultId, reason: 'mitigated' },
      { t: tI + 4_610, kind: 'fault.reverted', faultId },
    );
  else events.push({ t: tI + 15_000, kind: 'fault.reverting', faultId, reason: 'duration-elapsed' }, { t: tI + 15_020, kind: 'fault.reverted', faultId });
  for (let t = startedAt; t < startedAt + 40_000; t += 1_000) events.push({ t: t + 2, kind: 'probe', probe: 'ready', ok: !(t >= tI && t < up), started: t });
  return recordFrom(plan.name, plan, events, {}, startedAt, startedAt + 40_000);
}

/**
 * The nightly's shape: a replica lost at +10 s (the probe fails 4 s, the supervisor restarts it:
 * self-healed), then a database slowed from +30 s to +45 s that no probe sees but that puts the
 * load's p99 at 760 ms (> the latency SLO's 500 ms) from the second ending at +31.5 s, and at 520 ms
 * for two seconds after it is out. With `sloImpact: false` its p99 stays at 450 ms, under the threshold.
 */
export function nightlyLikeRecord(opts: { sloImpact?: boolean } = {}): RunRecord {
  const plan = defineGameDay({
    name: 'nightly',
    environments: ['local'],
    steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
    phases: [
      { name: 'warm-up', duration: '10s' },
      { name: 'replica-loss', fault: fault.podKill({ target: 'api', mode: 'one' }), expect: { recoverWithin: '60s' } },
      { name: 'slow-db', fault: fault.network({ target: 'db', delay: '100ms', duration: '15s' }), expect: { recoverWithin: '30s' } },
    ],
  }).plan;
  const s = T0;
  const [t1, t2] = [s + 10_000, s + 30_000];
  const events: RunEvent[] = [
    { t: s, kind: 'run.started', runId: 'n', drill: 'nightly', environment: 'local', clock: 'real' },
    { t: t1 - 5, kind: 'fault.injecting', faultId: 'f1', phase: 'replica-loss', provider: 'local-process', fault: { kind: 'pod-kill', target: 'api' } },
    { t: t1, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] },
    { t: t2 - 10, kind: 'fault.reverting', faultId: 'f1', reason: 'phase-ended' },
    { t: t2 - 9, kind: 'fault.reverted', faultId: 'f1' },
    { t: t2 - 5, kind: 'fault.injecting', faultId: 'f2', phase: 'slow-db', provider: 'local-proxy', fault: { kind: 'network', target: 'db' } },
    { t: t2, kind: 'fault.injected', faultId: 'f2', targets: ['proxy db'] },
    { t: t2 + 15_000, kind: 'fault.reverting', faultId: 'f2', reason: 'duration-elapsed' },
    { t: t2 + 15_020, kind: 'fault.reverted', faultId: 'f2' },
  ];
  for (let t = s; t < s + 60_000; t += 1_000) events.push({ t: t + 2, kind: 'probe', probe: 'ready', ok: !(t >= t1 && t < t1 + 4_000), started: t });
  // Load seconds end 500 ms after each probe tick, as the runner's ticker does.
  for (let t = s + 1_500; t < s + 60_000; t += 1_000) {
    const slow = opts.sloImpact !== false && t > t2 + 1_000 && t <= t2 + 17_000;
    const p99Ms = slow ? (t <= t2 + 15_000 ? 760 : 520) : opts.sloImpact === false && t > t2 && t <= t2 + 15_000 ? 450 : healthy.p99Ms;
    events.push({ t, kind: 'load.sample', ...healthy, p50Ms: slow ? 400 : healthy.p50Ms, p95Ms: Math.min(p99Ms, 700), p99Ms });
  }
  return recordFrom('nightly', plan, events, { 'graph-api:availability': AVAILABILITY, 'graph-api:latency': LATENCY }, s, s + 60_000);
}
