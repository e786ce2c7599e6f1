// measureRun is the one derivation of a run's figures, checks and verdict: the run uses it and
// `drill verify` uses it again on the record. Load thresholds are checks; a flipped check, a
// threshold turned green or an invented SLO are caught on re-derivation.
import { describe, expect, it } from 'vitest';
import { defineGameDay, fault, probe } from '../../src/define/index.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { rederiveRunRecord } from '../../src/evidence/rederive.ts';
import { RUN_RECORD_SCHEMA, type RunRecord } from '../../src/evidence/run-record.ts';
import { measureRun, type LoadThresholdResult, type RunMeasureInput } from '../../src/measure/run.ts';
import { renderSummary } from '../../src/measure/summary.ts';

const T0 = Date.UTC(2026, 11, 1, 2, 0, 0);
const plan = defineGameDay({
  name: 'm',
  environments: ['local'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '1s' })],
  phases: [{ name: 'kill', fault: fault.podKill({ target: 'api' }), expect: { alerts: ['GraphApiReplicaDown'], recoverWithin: '60s' } }],
}).plan;

function events(): RunEvent[] {
  const tInject = T0 + 10_000;
  const out: RunEvent[] = [
    { t: T0, kind: 'run.started', runId: 'run-m', drill: 'm', environment: 'local', clock: 'real' },
    { t: tInject - 5, kind: 'fault.injecting', faultId: 'f1', phase: 'kill', provider: 'local-process', fault: { kind: 'pod-kill', target: 'api' } },
    { t: tInject, kind: 'fault.injected', faultId: 'f1', targets: ['replica-1'] },
    { t: tInject + 6_000, kind: 'alert', alert: 'GraphApiReplicaDown', state: 'firing', source: 'prometheus', labels: {} },
    { t: tInject + 7_000, kind: 'alert', alert: 'GraphApiDatabaseDown', state: 'firing', source: 'prometheus', labels: { severity: 'critical' } },
  ];
  for (let t = T0; t < T0 + 40_000; t += 1_000) out.push({ t: t + 2, kind: 'probe', probe: 'ready', ok: !(t >= tInject && t < tInject + 8_000), started: t });
  return out.sort((a, b) => a.t - b.t);
}

const breached: LoadThresholdResult = { metric: 'http_req_failed', threshold: 'rate<0.01', ok: false, values: { rate: 0.167 } };

function recordOf(input: RunMeasureInput): RunRecord {
  const m = measureRun(input);
  return {
    schema: RUN_RECORD_SCHEMA,
    runId: 'run-m',
    drill: 'm',
    environment: 'local',
    startedAt: input.outcome.startedAt,
    endedAt: input.outcome.endedAt,
    plan: input.plan,
    events: [...input.events],
    measures: m.measures,
    checks: m.checks,
    verdict: m.verdict,
    exitCode: m.verdict === 'pass' ? 0 : 1,
    slos: { ...input.slos },
    ...(input.loadThresholds?.length ? { loadThresholds: [...input.loadThresholds] } : {}),
    tool: { name: 'drillbook', version: 'test' },
  };
}

const base: RunMeasureInput = { plan, events: events(), outcome: { status: 'completed', startedAt: T0, endedAt: T0 + 40_000 }, slos: {} };

describe('measureRun', () => {
  it('a breached load threshold fails the verdict and is a named check; the summary shows it and the unexpected page', () => {
    const ok = measureRun(base);
    const withLoad = measureRun({ ...base, loadThresholds: [breached] });
    expect(withLoad.checks.find((c) => c.name === 'load threshold http_req_failed rate<0.01')).toMatchObject({ ok: false, detail: 'rate=0.1670' });
    expect(withLoad.verdict).toBe('fail');
    const text = renderSummary({
      drill: 'm',
      environment: 'local',
      verdict: withLoad.verdict,
      exitCode: 1,
      episodes: withLoad.episodes,
      burns: withLoad.burns,
      checks: withLoad.checks,
      faultsLeftIn: 0,
    });
    expect(text).toMatch(/✗ load threshold http_req_failed rate<0\.01: rate=0\.1670/);
    expect(text).toMatch(/GraphApiDatabaseDown \(unexpected\)/);
    expect(text).toMatch(/burn: no SLO declared/);
    // Without the threshold the only failing check is the unexpected page.
    expect(ok.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['kill: no unexpected page']);
  });

  it('no SLO declared: no burn measure at all (no objective is invented)', () => {
    const m = measureRun(base);
    expect(m.burns).toEqual([]);
    expect(Object.keys(m.measures).filter((k) => /burn|budget|errorRatio/i.test(k))).toEqual([]);
  });

  it('verify derives the same record back, and catches a flipped check, a threshold turned green and an invented SLO', () => {
    const record = recordOf({ ...base, loadThresholds: [breached], slos: {} });
    expect(rederiveRunRecord(record)).toEqual([]);

    const flipped = structuredClone(record);
    flipped.checks = flipped.checks.map((c) => ({ ...c, ok: true }));
    flipped.verdict = 'pass';
    expect(rederiveRunRecord(flipped).map((d) => d.what)).toEqual(['checks', 'verdict']);

    const greened = structuredClone(record);
    greened.loadThresholds = [{ ...breached, ok: true }];
    expect(rederiveRunRecord(greened).map((d) => d.what)).toEqual(['checks']);

    const invented = recordOf({ ...base, slos: { 'graph-api:availability': { objective: 0.999, periodMs: 30 * 86_400_000 } } });
    expect(rederiveRunRecord(invented).map((d) => d.what)).toEqual(['SLOs burn is measured against']);
  });
});
