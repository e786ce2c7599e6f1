// Issue #14 items 1 and 2: MTTR over incidents, how each episode recovered, and impact seen by an
// SLI (availability or latency from the load's per-second samples) when no probe failed. Run logs
// with known times; every expected figure below is worked out from them by hand.
import { describe, expect, it } from 'vitest';
import { defineGameDay, fault, fromSlo, probe } from '../../src/define/index.ts';
import { defineSlo } from '../../src/define/slo.ts';
import { DefinitionError } from '../../src/define/errors.ts';
import { rederiveRunRecord } from '../../src/evidence/rederive.ts';
import { incidentCount, measureEpisodes, mttr, mttrOwnRecovery, sliBreach } from '../../src/measure/episodes.ts';
import { measureRun } from '../../src/measure/run.ts';
import { renderSummary } from '../../src/measure/summary.ts';
import { AVAILABILITY, LATENCY, nightlyLikeRecord, rollbackRecord, T0 } from '../support/recovery-record.ts';

describe('an SLI breach is impact', () => {
  it('latency: a second whose p99 is above the threshold breaches a 99 % objective; p95 judges a 95 % one; an idle second says nothing', () => {
    const s = { requests: 20, failures: 0, p50Ms: 400, p95Ms: 480, p99Ms: 761 };
    expect(sliBreach(s, 'lat', LATENCY)).toEqual({ sloId: 'lat', sli: 'latency', detail: 'p99 761 ms > 500 ms' });
    expect(sliBreach({ ...s, p99Ms: 500 }, 'lat', LATENCY)).toBeUndefined();
    expect(sliBreach(s, 'lat', { ...LATENCY, objective: 0.95 })).toBeUndefined(); // p95 480 ≤ 500
    expect(sliBreach({ ...s, requests: 0 }, 'lat', LATENCY)).toBeUndefined();
  });

  it('availability: failures above the error budget in a second breach; an SLO recorded without its SLI kind reads as availability', () => {
    expect(sliBreach({ requests: 20, failures: 1, p50Ms: 5, p95Ms: 9, p99Ms: 9 }, 'av', AVAILABILITY)).toEqual({
      sloId: 'av',
      sli: 'availability',
      detail: '1/20 requests failed > 0.1 % budget',
    });
    // Exactly the budget is within it.
    expect(sliBreach({ requests: 2000, failures: 2, p50Ms: 5, p95Ms: 9, p99Ms: 9 }, 'av', { objective: 0.999, periodMs: 1 })).toBeUndefined();
  });

  it('a slow database no probe saw has impact from the first breaching second and recovers after the revert, with its tail', () => {
    const rec = nightlyLikeRecord();
    const [loss, slow] = measureEpisodes(rec.events, rec.plan, { slos: rec.slos });
    expect(loss).toMatchObject({ recoveredBy: 'self-healed', noImpact: false, sloImpact: [] });
    expect(loss!.ttr.value).toBe(4_000);
    // First breaching second ends at +31.5 s: it starts at +30.5 s, 500 ms after the fault went in at +30 s.
    expect(slow!.impact).toMatchObject({ value: 500, formula: 'impact.v2' });
    expect(slow!.impact.note).toMatch(/graph-api:latency latency p99 760 ms > 500 ms/);
    expect(slow!.sloImpact.map((b) => b.sloId)).toEqual(['graph-api:latency']);
    // Three good seconds end at +47.5, +48.5, +49.5 s: recovered from +46.5 s, TTR 16.5 s.
    expect(slow!.ttr).toMatchObject({ value: 16_500, formula: 'ttr.v2' });
    expect(slow!.recoveredBy).toBe('after-revert');
    expect(slow!.recoveryTail).toMatchObject({ value: 46_500 - 45_020, formula: 'recovery-tail.v1' });
  });

  it('generation 1 (records before SLO impact) sees no SLI: the slow database is “no impact” again', () => {
    const rec = nightlyLikeRecord();
    const [, slow] = measureEpisodes(rec.events, rec.plan, { slos: rec.slos, generation: 1 });
    expect(slow).toMatchObject({ noImpact: true, recoveredBy: 'no-impact' });
    expect(slow!.ttr).toMatchObject({ value: 0, formula: 'ttr.v1' });
  });
});

describe('MTTR over incidents', () => {
  it('a no-impact episode is not an incident: mttr.v2 leaves it out where mttr.v1 averaged in its zero', () => {
    const rec = nightlyLikeRecord({ sloImpact: false });
    const episodes = measureEpisodes(rec.events, rec.plan, { slos: rec.slos });
    expect(episodes.map((e) => e.recoveredBy)).toEqual(['self-healed', 'no-impact']);
    expect(mttr(episodes, 'mttr.v1').value).toBe(2_000); // mean(4 s, 0)
    const m = mttr(episodes);
    expect(m).toMatchObject({ value: 4_000, formula: 'mttr.v2', inputs: { episodes: 2, incidents: 1 } });
    expect(m.note).toBe('1 of 2 episode(s) had impact; 1 without impact left out: not incidents');
    expect(incidentCount(episodes)).toMatchObject({ value: 1, inputs: { byRecovery: { 'self-healed': 1, 'no-impact': 1 } } });
  });

  it('the trend MTTR counts self-healed and remediated episodes, not one recovered only by the harness’s revert', () => {
    const rec = nightlyLikeRecord();
    expect(rec.measures.mttr).toMatchObject({ value: (4_000 + 16_500) / 2, formula: 'mttr.v2' });
    expect(rec.measures.incidents!.value).toBe(2);
    expect(rec.measures.mttrOwnRecovery).toMatchObject({ value: 4_000, formula: 'mttr-own.v1' });
    expect(rec.measures['slow-db.recoveryTail']!.value).toBe(1_480);
    expect(rec.measures['replica-loss.recoveryTail']).toBeUndefined();
  });

  it('a rollback run by the team’s remediation is remediated; one the harness’s timer took out is after-revert', () => {
    const remediated = rollbackRecord('remediated');
    const timer = rollbackRecord('timer');
    const [r] = measureEpisodes(remediated.events, remediated.plan);
    const [t] = measureEpisodes(timer.events, timer.plan);
    expect([r!.recoveredBy, r!.ttr.value]).toEqual(['remediated', 5_000]);
    expect([t!.recoveredBy, t!.ttr.value, t!.recoveryTail?.value]).toEqual(['after-revert', 16_000, 16_000 - 15_020]);
    expect(mttrOwnRecovery([r!, t!]).value).toBe(5_000);
    expect(remediated.verdict).toBe('pass');
  });

  it('a failed mitigation does not count: the recovery after the harness’s deadline revert is after-revert', () => {
    const rec = rollbackRecord('timer');
    const events = [
      ...rec.events,
      { t: T0 + 14_000, kind: 'mitigation' as const, faultId: 'f-migration', phase: 'bad-migration', by: 'alert-remediation' as const, exitCode: 1, ok: false },
    ];
    const [e] = measureEpisodes(
      events.sort((a, b) => a.t - b.t),
      rec.plan,
    );
    expect(e!.recoveredBy).toBe('after-revert');
  });

  it('the summary shows how each episode recovered, the SLO impact and MTTR with its incident count', () => {
    const rec = nightlyLikeRecord();
    const m = measureRun({
      plan: rec.plan,
      events: rec.events,
      outcome: { status: 'completed', startedAt: rec.startedAt, endedAt: rec.endedAt },
      slos: rec.slos!,
    });
    const text = renderSummary({
      drill: 'nightly',
      environment: 'local',
      verdict: m.verdict,
      exitCode: 0,
      episodes: m.episodes,
      mttr: m.measures.mttr!,
      checks: m.checks,
      faultsLeftIn: 0,
    });
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^episode\s+TTD\s+TTR\s+impact\s+recovered by\s+alerts fired\s+within$/);
    expect(lines[2]).toMatch(/^replica-loss .* self-healed /);
    expect(lines[3]).toMatch(/^slow-db .* 17s .* after-revert \+1\.5s /); // 16.5 s and 1.48 s as the summary rounds them
    expect(text).toMatch(/slow-db: SLO impact graph-api:latency latency p99 760 ms > 500 ms/);
    expect(text).toMatch(/MTTR 10s \(2 of 2 episode\(s\) had impact\)/); // 10.25 s
    expect(text).not.toMatch(/TTM/);
    // Once item 4's TTM measure is on an episode, the column appears.
    const withTtm = m.episodes.map((e, i) => (i === 1 ? { ...e, ttm: { value: 3_000, unit: 'ms' as const, formula: 'ttm.v1', inputs: {} } } : e));
    expect(
      renderSummary({ drill: 'nightly', environment: 'local', verdict: m.verdict, exitCode: 0, episodes: withTtm, checks: m.checks, faultsLeftIn: 0 }).split(
        '\n',
      )[1],
    ).toMatch(/TTD\s+TTM\s+TTR/);
  });
});

describe('drill verify re-derives the new measures', () => {
  it('the untouched record re-derives clean', () => {
    expect(rederiveRunRecord(nightlyLikeRecord())).toEqual([]);
    expect(rederiveRunRecord(rollbackRecord('remediated'))).toEqual([]);
  });

  it('catches an edited recovery tail, trend MTTR, incident count and MTTR', () => {
    const rec = nightlyLikeRecord();
    rec.measures['slow-db.recoveryTail']!.value = 0; // “it recovered the moment we reverted”
    rec.measures.mttrOwnRecovery!.value = 2_000;
    rec.measures.incidents!.value = 1;
    rec.measures.mttr!.value = 4_000; // the slow database claimed as no incident
    expect(rederiveRunRecord(rec)).toEqual([
      { what: 'measure mttr', recorded: 4_000, derived: 10_250 },
      { what: 'measure incidents', recorded: 1, derived: 2 },
      { what: 'measure mttrOwnRecovery', recorded: 2_000, derived: 4_000 },
      { what: 'measure slow-db.recoveryTail', recorded: 0, derived: 1_480 },
    ]);
  });

  it('catches a timer-driven rollback dressed up as remediated: the recovery tail it drops is still derived', () => {
    const rec = rollbackRecord('timer');
    delete rec.measures['bad-migration.recoveryTail'];
    rec.measures.mttrOwnRecovery!.value = 16_000;
    expect(rederiveRunRecord(rec).map((d) => d.what)).toEqual(['measure mttrOwnRecovery', 'measure bad-migration.recoveryTail']);
  });

  it('a record written before (mttr.v1, ttr.v1, no new measures) still verifies, derived with its own generation', () => {
    const rec = nightlyLikeRecord();
    const old = measureRun({
      plan: rec.plan,
      events: rec.events,
      outcome: { status: 'completed', startedAt: rec.startedAt, endedAt: rec.endedAt },
      slos: rec.slos!,
      formulas: { mttr: { formula: 'mttr.v1' } },
    });
    const legacy = { ...rec, measures: old.measures, checks: old.checks, verdict: old.verdict };
    expect(Object.keys(legacy.measures).filter((k) => /incidents|mttrOwn|recoveryTail/.test(k))).toEqual([]);
    expect(legacy.measures.mttr).toMatchObject({ formula: 'mttr.v1', value: 2_000 });
    expect(rederiveRunRecord(legacy)).toEqual([]);
    // Relabelling only the MTTR as v1 to bring back the averaged-in zero is caught.
    const relabelled = { ...rec, measures: { ...rec.measures, mttr: old.measures.mttr! } };
    expect(rederiveRunRecord(relabelled).map((d) => d.what)).toEqual(expect.arrayContaining(['measure slow-db.ttr', 'measure incidents']));
  });
});

describe('fromSlo', () => {
  const latency = defineSlo({
    service: 'graph-api',
    name: 'latency',
    objective: 99,
    sli: { latency: { metric: 'http_request_duration_seconds', threshold: '500ms', selector: 'service="graph-api"' } },
    alerting: { name: 'GraphApiLatency', runbook: 'runbooks/graph-api-latency.md' },
  });
  const availability = defineSlo({
    service: 'graph-api',
    name: 'availability',
    objective: 99.9,
    sli: { errors: 'sum(rate(e[{{window}}]))', total: 'sum(rate(t[{{window}}]))' },
    alerting: { name: 'GraphApiAvailability', runbook: 'runbooks/graph-api-availability.md' },
  });
  const drill = (steady: ReturnType<typeof probe.http>) =>
    defineGameDay({ name: 'f', environments: ['local'], steadyState: [steady], phases: [{ name: 'p', fault: fault.podKill({ target: 'api' }) }] });

  it('takes the probe’s latency bound from the SLO, not from a second copy', () => {
    const d = drill(fromSlo(latency, { name: 'ready', target: 'api', path: '/readyz', every: '500ms' }));
    expect(d.plan.steadyState[0]).toMatchObject({ kind: 'http', name: 'ready', every: 500, expect: { status: [200], maxMs: 500 } });
  });

  it('refuses an SLO without a latency objective, and a second copy of the threshold that disagrees', () => {
    expect(() => drill(fromSlo(availability, { name: 'ready', target: 'api', path: '/readyz' }))).toThrow(DefinitionError);
    expect(() => drill(fromSlo(availability, { name: 'ready', target: 'api', path: '/readyz' }))).toThrow(
      /steadyState\[0\]\.slo.*no latency objective.*pass a latency SLO/s,
    );
    expect(() => drill(probe.http({ name: 'ready', target: 'api', path: '/readyz', slo: latency, expect: { maxMs: 250 } }))).toThrow(
      /maxMs 250 contradicts the threshold of SLO 'graph-api:latency' \(500 ms\)/,
    );
  });
});
