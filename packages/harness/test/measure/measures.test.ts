// Measures against ground truth: run logs built with exact known times.
import { describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe, stop } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { findRecovery, measureEpisodes, mttr } from '../../src/measure/episodes.ts';
import { measureBurn, samplesFromRunLog } from '../../src/measure/burn.ts';
import { measureRestore } from '../../src/measure/restore.ts';
import { createStopEvaluator } from '../../src/measure/stop-conditions.ts';
import { decideVerdict } from '../../src/measure/verdict.ts';
import { renderSummary } from '../../src/measure/summary.ts';

const T0 = 1_700_000_000_000;

function plan(every: string, probes = 1, recoverWithin = '60s', alerts: string[] = []) {
  return defineGameDay({
    name: 'gt',
    environments: ['local'],
    steadyState: Array.from({ length: probes }, (_, i) => probe.http({ name: `p${i}`, target: 'api', path: '/readyz', every })),
    phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { alerts, recoverWithin } }],
  }).plan;
}

/** Probes every `every` ms from `from` to `to`, failing while `down(t)` holds. */
function probes(name: string, every: number, from: number, to: number, down: (t: number) => boolean, offset = 0): RunEvent[] {
  const out: RunEvent[] = [];
  for (let t = from + offset; t < to; t += every) out.push({ t: t + 3, kind: 'probe', probe: name, ok: !down(t), started: t });
  return out;
}

function injection(tInject: number, phase = 'kill'): RunEvent[] {
  return [
    { t: tInject - 5, kind: 'fault.injecting', faultId: `f-${phase}`, phase, provider: 'test', fault: { kind: 'pod-kill', target: 'api' } },
    { t: tInject, kind: 'fault.injected', faultId: `f-${phase}`, targets: ['replica-1'] },
  ];
}

const byTime = (events: RunEvent[]) => events.sort((a, b) => a.t - b.t);

describe('TTR against the true recovery time', () => {
  for (const every of [1_000, 100]) {
    it(`with ${every} ms probes: measured TTR is within one probe interval of the truth`, () => {
      const tInject = T0 + 10_000;
      const trueRecovery = tInject + 7_350; // e.g. a supervisor restart delay of 7.35 s
      const log = byTime([...injection(tInject), ...probes('p0', every, T0, T0 + 40_000, (t) => t >= tInject && t < trueRecovery)]);
      const [ep] = measureEpisodes(log, plan(`${every}ms`));
      const trueTtr = trueRecovery - tInject;
      expect(ep!.ttr.value).not.toBeNull();
      expect(ep!.ttr.value!).toBeGreaterThanOrEqual(trueTtr);
      expect(ep!.ttr.value! - trueTtr).toBeLessThanOrEqual(every);
      if (every === 100) expect(Math.abs(ep!.ttr.value! - trueTtr)).toBeLessThanOrEqual(250);
      expect(ep!.tImpact).toBeGreaterThanOrEqual(tInject);
      expect(ep!.tImpact! - tInject).toBeLessThanOrEqual(every);
    });
  }

  it('a flapping probe (fail, pass, fail, then passes) recovers at the start of the first run of 3 passes', () => {
    const tInject = T0 + 1_000;
    const pattern = [true, true, false, true, false, false, true, false, false, false]; // true = failing, from t_inject
    const events: RunEvent[] = [...injection(tInject)];
    pattern.forEach((fail, i) => events.push({ t: tInject + i * 1000 + 2, kind: 'probe', probe: 'p0', ok: !fail, started: tInject + i * 1000 }));
    const [ep] = measureEpisodes(byTime(events), plan('1s'));
    // passes at i = 2 (one), 4–5 (two), then 7, 8, 9: the first run of three starts at i = 7.
    expect(ep!.tRecover).toBe(tInject + 7_000);
    expect(ep!.ttr.value).toBe(7_000);
  });

  it('with two probes of different intervals, recovery waits until both have 3 passes with no failure between', () => {
    const tInject = T0 + 5_000;
    const fast = probes('p0', 200, T0, T0 + 30_000, (t) => t >= tInject && t < tInject + 2_000);
    const slow = probes('p1', 1_000, T0, T0 + 30_000, (t) => t >= tInject && t < tInject + 4_500, 50);
    const [ep] = measureEpisodes(byTime([...injection(tInject), ...fast, ...slow]), plan('200ms', 2));
    // p1's last failure is sent at tInject+4050; p0 passes from +2000, but the system is
    // healthy only once every probe's latest result passes: at p1's pass at +5050.
    expect(ep!.tRecover).toBe(tInject + 5_050);
  });

  it('a fault with no visible impact has TTR 0 and says so', () => {
    const tInject = T0 + 5_000;
    const log = byTime([...injection(tInject), ...probes('p0', 1_000, T0, T0 + 20_000, () => false)]);
    const [ep] = measureEpisodes(log, plan('1s'));
    expect(ep!.noImpact).toBe(true);
    expect(ep!.ttr.value).toBe(0);
    expect(ep!.ttr.note).toMatch(/no visible impact/);
  });

  it('never recovering leaves TTR null and fails the check', () => {
    const tInject = T0 + 5_000;
    const log = byTime([...injection(tInject), ...probes('p0', 1_000, T0, T0 + 20_000, (t) => t >= tInject)]);
    const p = plan('1s', 1, '10s');
    const episodes = measureEpisodes(log, p);
    expect(episodes[0]!.ttr.value).toBeNull();
    const v = decideVerdict({ outcome: { status: 'completed' }, events: log, episodes });
    expect(v.verdict).toBe('fail');
    expect(v.checks.find((c) => c.name.includes('recovered'))).toMatchObject({ ok: false, detail: 'not recovered' });
  });

  it('MTTR is the mean TTR of recovered episodes, with its inputs', () => {
    const t1 = T0 + 10_000;
    const t2 = T0 + 40_000;
    const log = byTime([
      ...injection(t1, 'a'),
      ...injection(t2, 'b'),
      ...probes('p0', 1_000, T0, T0 + 70_000, (t) => (t >= t1 && t < t1 + 4_000) || (t >= t2 && t < t2 + 8_000)),
    ]);
    const p = defineGameDay({
      name: 'two',
      environments: ['local'],
      steadyState: [probe.http({ name: 'p0', target: 'api', path: '/readyz', every: '1s' })],
      phases: [
        { name: 'a', fault: fault.podKill({ target: 'api' }) },
        { name: 'b', fault: fault.podKill({ target: 'api' }) },
      ],
    }).plan;
    const episodes = measureEpisodes(log, p);
    expect(episodes.map((e) => e.ttr.value)).toEqual([4_000, 8_000]);
    expect(mttr(episodes)).toMatchObject({ value: 6_000, formula: 'mttr.v2', inputs: { episodes: 2, incidents: 2 } });
    expect(mttr(episodes, 'mttr.v1')).toMatchObject({ value: 6_000, formula: 'mttr.v1' });
  });
});

describe('TTD', () => {
  it('is the first firing of an expected alert after the fault; a missing alert fails its check; unexpected pages are reported', () => {
    const tInject = T0 + 10_000;
    const fire = tInject + 12_345;
    const log = byTime([
      ...injection(tInject),
      ...probes('p0', 1_000, T0, T0 + 60_000, (t) => t >= tInject && t < tInject + 5_000),
      { t: tInject + 9_000, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'pending', source: 'prometheus', labels: {} },
      { t: fire + 800, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'alertmanager', labels: {} },
      { t: fire, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'prometheus', labels: {} },
      { t: fire + 50, kind: 'alert', alert: 'GraphApiDatabaseDown', state: 'firing', source: 'prometheus', labels: { severity: 'critical' } },
    ]);
    const p = plan('1s', 1, '60s', ['GraphApiReplicaDown', 'GraphApiAvailability']);
    const [ep] = measureEpisodes(log, p);
    expect(ep!.ttd.value).toBe(12_345);
    expect(ep!.alertsFired).toEqual({ GraphApiReplicaDown: fire, GraphApiAvailability: undefined });
    expect(ep!.unexpectedAlerts).toEqual(['GraphApiDatabaseDown']);
    const v = decideVerdict({ outcome: { status: 'completed' }, events: log, episodes: [ep!] });
    expect(v.checks.find((c) => c.name.includes('GraphApiAvailability'))).toMatchObject({ ok: false });
    expect(v.verdict).toBe('fail');
  });
});

describe('SLO burn arithmetic', () => {
  it('a known error ratio for a known time gives budget consumed and burn rate within 2 %', () => {
    // 100 req/s for 10 minutes with 2 % errors, objective 99.9 %, 30-day period.
    const samples = Array.from({ length: 600 }, (_, i) => ({ t: T0 + (i + 1) * 1000, requests: 100, errors: 2 }));
    const report = measureBurn(samples, 0.999, 30 * 86_400_000, T0, T0 + 600_000);
    const burn = 0.02 / 0.001; // 20×
    const consumed = (burn * 600_000) / (30 * 86_400_000);
    expect(Math.abs(report.burnRate.value! - burn) / burn).toBeLessThan(0.02);
    expect(Math.abs(report.budgetConsumed.value! - consumed) / consumed).toBeLessThan(0.02);
    // A 10-minute drill fills the 5m window but not the 1h one: the pair sees 20× on both (no traffic before).
    expect(report.peaks[0]).toMatchObject({ pair: '5m/1h', factor: 14.4 });
    expect(report.peaks[0]!.peak).toBeCloseTo(20, 5);
  });

  it('reads probe results as one request each when no load ran', () => {
    const tInject = T0 + 10_000;
    const log = byTime([...injection(tInject), ...probes('p0', 1_000, T0, T0 + 100_000, (t) => t >= tInject && t < tInject + 10_000)]);
    const { source, samples } = samplesFromRunLog(log);
    expect(source).toBe('probes');
    const report = measureBurn(samples, 0.99, 30 * 86_400_000, T0, T0 + 100_000, source);
    expect(report.errorRatio.value).toBeCloseTo(10 / 100, 10);
  });
});

describe('RPO and RTO', () => {
  it('RPO is the failure time minus the newest surviving acknowledged commit; lost rows are counted', () => {
    const acks = Array.from({ length: 100 }, (_, i) => ({ seq: i + 1, ackedAt: T0 + i * 100 }));
    const tFailure = T0 + 9_950;
    const surviving = new Set(acks.filter((a) => a.seq <= 80).map((a) => a.seq)); // the last archived segment ended at seq 80
    const r = measureRestore(
      acks,
      surviving,
      {
        tFailure,
        tDetected: tFailure + 900,
        tRestoreStarted: tFailure + 1_000,
        tRestoreEnded: tFailure + 3_000,
        tReplayEnded: tFailure + 4_500,
        tHealthy: tFailure + 6_000,
      },
      { rpo: 15 * 60_000, rto: 60 * 60_000 },
    );
    expect(r.rpo.value).toBe(tFailure - (T0 + 79 * 100));
    expect(r.lostRows.value).toBe(20);
    expect(r.rto.value).toBe(6_000);
    expect(r.breakdown).toEqual({ detect: 1_000, restore: 2_000, replay: 1_500, warmUp: 1_500 });
    expect(Object.values(r.breakdown).reduce((a, b) => a + b, 0)).toBe(r.rto.value);
    expect(r.checks.every((c) => c.ok)).toBe(true);
  });

  it('a hole below the newest survivor fails the restore check', () => {
    const acks = Array.from({ length: 10 }, (_, i) => ({ seq: i + 1, ackedAt: T0 + i * 100 }));
    const surviving = new Set([1, 2, 3, 5, 6]);
    const r = measureRestore(acks, surviving, {
      tFailure: T0 + 2_000,
      tDetected: 0,
      tRestoreStarted: 0,
      tRestoreEnded: 0,
      tReplayEnded: 0,
      tHealthy: T0 + 3_000,
    });
    expect(r.checks[0]).toMatchObject({ ok: false, detail: '1 rows missing below seq 6' });
  });
});

describe('stop conditions', () => {
  it('error ratio above the bound for 3 consecutive 1 s intervals breaches at the third', () => {
    const ev = createStopEvaluator([{ kind: 'error-ratio', above: 0.2, for: 3 }], { slos: {} });
    const seconds = [0.1, 0.5, 0.6, 0.1, 0.5, 0.5, 0.5, 0];
    let breachAt = -1;
    seconds.forEach((ratio, i) => {
      const b = ev.observe({
        t: T0 + i * 1000 + 500,
        kind: 'load.sample',
        requests: 100,
        failures: ratio * 100,
        p50Ms: 1,
        p95Ms: 1,
        p99Ms: 1,
        dropped: 0,
        vus: 1,
      });
      if (b && breachAt < 0) breachAt = i;
    });
    // Intervals close when the next second's sample arrives: seconds 4, 5, 6 are above → breach when second 7 arrives.
    expect(breachAt).toBe(7);
  });

  it('budget consumed, alert firing too long and probe failing each breach, evaluated event by event over a million events', () => {
    const ev = createStopEvaluator(
      [
        { kind: 'budget-consumed', slo: 'svc:avail', above: 0.05 },
        { kind: 'alert-firing', alert: 'Page', longerThan: 60_000 },
        { kind: 'probe-failing', probe: 'ready', for: 5 },
      ],
      { slos: { 'svc:avail': { objective: 0.999, periodMs: 30 * 86_400_000 } } },
    );
    // A million healthy probe results: no breach, constant work per event.
    let early = 0;
    for (let i = 0; i < 1_000_000; i++) if (ev.observe({ t: T0 + i * 250, kind: 'probe', probe: 'other', ok: true, started: T0 + i * 250 })) early++;
    expect(early).toBe(0);
    const t = T0 + 1_000_000 * 250;
    expect(ev.observe({ t, kind: 'alert', alert: 'Page', state: 'firing', source: 'prometheus', labels: {} })).toBeUndefined();
    const b = ev.observe({ t: t + 60_001, kind: 'probe', probe: 'other', ok: true, started: t + 60_001 });
    expect(b?.condition).toBe('alert Page firing longer than 60000 ms');
  });

  it('budget consumed: 100 % errors burn 1000× and pass 5 % of a 30-day budget after 129.6 s', () => {
    const ev = createStopEvaluator([{ kind: 'budget-consumed', slo: 's', above: 0.05 }], { slos: { s: { objective: 0.999, periodMs: 30 * 86_400_000 } } });
    let breachedAt = -1;
    for (let i = 0; i < 20_000 && breachedAt < 0; i++)
      if (ev.observe({ t: T0 + i * 1000, kind: 'probe', probe: 'p', ok: false, started: T0 + i * 1000 })) breachedAt = i;
    // 0.05 × 2 592 000 s / 1000 = 129.6 s
    expect(breachedAt).toBe(130);
  });
});

describe('summary', () => {
  it('renders the verdict line, an episode table and the tail', () => {
    const tInject = T0 + 10_000;
    const log = byTime([...injection(tInject), ...probes('p0', 1_000, T0, T0 + 40_000, (t) => t >= tInject && t < tInject + 4_000)]);
    const episodes = measureEpisodes(log, plan('1s'));
    const v = decideVerdict({ outcome: { status: 'completed' }, events: log, episodes });
    const text = renderSummary({ drill: 'gt', environment: 'local', verdict: v.verdict, exitCode: 0, episodes, checks: v.checks, faultsLeftIn: 0 });
    expect(text.split('\n')[0]).toBe('gt on local — PASS (exit 0)');
    expect(text).toMatch(/kill\s+—\s+4s/);
    expect(text).toMatch(/0 faults left in/);
  });
});

it('findRecovery scans from a start index', () => {
  const r = (ok: boolean, i: number) => ({ t: i, kind: 'probe' as const, probe: 'p', ok, started: i });
  expect(findRecovery([r(true, 0), r(false, 1), r(true, 2), r(true, 3), r(true, 4)], ['p'], 3, 1)).toBe(2);
  void stop;
});
