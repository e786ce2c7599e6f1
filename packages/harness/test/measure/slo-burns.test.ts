// Burn per declared SLO, and one set of factors for rules, measures, dashboards and the report.
// A 28-day SLO's page factor is 13.44 (2 % of 28 days in 1h), not the 30-day 14.4: a constant
// 7 % error ratio against a 99.5 % objective (burn 14×) must page under 28 days and not under
// 30. The same series is fed to the generated rules in the real promtool and to the measure,
// and the report's data is drawn from the record: all must agree on which pairs it exceeds.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { defineGameDay } from '../../src/define/index.ts';
import { defineSlo, type SloDefinition } from '../../src/define/slo.ts';
import type { RunEvent } from '../../src/engine/types.ts';
import { alertGroup, burnAlerts, num, ruleFileYaml, sloRuleGroups } from '../../src/build/rules.ts';
import { TEST_SLI } from '../../src/build/promtool-tests.ts';
import { sloDashboard } from '../../src/build/dashboards.ts';
import { measureSloBurns, samplesFromRunLog, sloBurnMeasures, type CountSample, type SloTarget } from '../../src/measure/burn.ts';
import { measureEpisodes, mttr } from '../../src/measure/episodes.ts';
import { decideVerdict } from '../../src/measure/verdict.ts';
import { RUN_RECORD_SCHEMA, type RunRecord } from '../../src/evidence/run-record.ts';
import { chartData, renderReport } from '../../src/evidence/report.ts';
import { rederiveRunRecord } from '../../src/evidence/rederive.ts';
import { burnThreshold, errorBudget, sloLabels, sloMeasureKey } from '../../src/slo/conventions.ts';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;
const temps: string[] = [];
afterAll(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const sli = { errors: 'sum(rate(e_total[{{window}}]))', total: 'sum(rate(t_total[{{window}}]))' };
const slo = (service: string, name: string, objective: number, alert: string, period?: '28d') =>
  defineSlo({ service, name, objective, ...(period ? { period } : {}), sli, alerting: { name: alert, runbook: `runbooks/${service}.md` } });
const pay28 = slo('pay', 'availability', 99.5, 'PayAvailability', '28d');
// The same objective over 30 days: the control that shows the factor, not the objective, decides.
const pay30 = slo('pay', 'availability-30d', 99.5, 'PayAvailability30d');
const search = slo('search', 'availability', 99.9, 'SearchAvailability');

const target = (s: SloDefinition): SloTarget => ({ objective: s.objective, periodMs: s.period });

/** 70 minutes of 1000 requests a minute, 70 of them errors (7 %): burn 14× against a 0.5 % budget. */
const MINUTES = 70;
const samples: CountSample[] = Array.from({ length: MINUTES }, (_, i) => ({ t: T0 + (i + 1) * MINUTE, requests: 1000, errors: 70 }));
const loadEvents: RunEvent[] = samples.map((s) => ({
  t: s.t,
  kind: 'load.sample',
  requests: s.requests,
  failures: s.errors,
  ...{ p50Ms: 5, p95Ms: 9, p99Ms: 12, dropped: 0, vus: 10 },
}));

/** A run record as the pipeline writes it: burn per declared SLO under `slo.<id>.*`. */
function recordFor(slos: SloDefinition[]): RunRecord {
  const phases = [{ name: 'steady', duration: `${MINUTES}m` }];
  const plan = defineGameDay({ name: 'burn', environments: ['local'], phases, ...(slos.length ? { checks: { slo: slos } } : {}) }).plan;
  const events: RunEvent[] = [{ t: T0, kind: 'run.started', runId: 'run-burn', drill: 'burn', environment: 'local', clock: 'real' }, ...loadEvents];
  const endedAt = T0 + MINUTES * MINUTE;
  const declared = Object.fromEntries(slos.map((s) => [s.id, target(s)]));
  const { source, samples: fromLog } = samplesFromRunLog(events);
  const burns = measureSloBurns(declared, fromLog, T0, endedAt, source);
  const episodes = measureEpisodes(events, plan);
  const { verdict, checks } = decideVerdict({ outcome: { status: 'completed' }, events, episodes });
  return {
    schema: RUN_RECORD_SCHEMA,
    runId: 'run-burn',
    drill: 'burn',
    environment: 'local',
    startedAt: T0,
    endedAt,
    plan,
    events,
    measures: { mttr: mttr(episodes), ...sloBurnMeasures(burns) },
    checks,
    verdict,
    exitCode: 0,
    slos: declared,
    tool: { name: 'drillbook', version: 'test' },
  };
}

/** What `drill verify` says about burn (the rest of the record is other measures' business). */
const burnDiffs = (r: RunRecord) => rederiveRunRecord(r).filter((d) => d.what.startsWith('SLOs') || /slo\.|burn|errorRatio|budget/i.test(d.what));

/** Runs the SLOs' rules (synthetic SLI) in promtool over the sample series; which burn-rate alerts fire at its end. */
async function promtoolFiring(slos: SloDefinition[], expected: Map<string, ReturnType<typeof burnAlerts>>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drillbook-slo-burns-'));
  temps.push(dir);
  await writeFile(path.join(dir, 'rules.yaml'), ruleFileYaml({ groups: slos.flatMap((s) => sloRuleGroups(s, undefined, TEST_SLI)) }));
  const suite = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'constant 7 % error ratio',
        interval: '1m',
        input_series: [
          { series: 'drillbook_test_requests_total', values: `0+1000x${MINUTES}` },
          { series: 'drillbook_test_errors_total', values: `0+70x${MINUTES}` },
        ],
        alert_rule_test: slos.map((s) => ({
          eval_time: `${MINUTES}m`,
          alertname: s.alerting.name,
          exp_alerts: expected.get(s.id)!.map((a) => ({ exp_labels: { ...sloLabels(s), ...a.labels }, exp_annotations: a.annotations })),
        })),
      },
    ],
  };
  await writeFile(path.join(dir, 'burn.test.yaml'), JSON.stringify(suite));
  return run(PROMTOOL, ['test', 'rules', 'burn.test.yaml'], { cwd: dir }).then(
    (r) => r.stdout,
    (e: { stdout?: string; stderr?: string }) => `FAILED\n${e.stdout ?? ''}${e.stderr ?? ''}`,
  );
}

describe('a 28-day SLO: rules, measure, promtool, dashboard and report agree on factors and thresholds', () => {
  const [burn28, burn30] = measureSloBurns({ [pay28.id]: target(pay28), [pay30.id]: target(pay30) }, samples, T0, T0 + MINUTES * MINUTE, 'load');

  it('the rules carry the 28-day factors, and the measure holds its peaks against the same ones', () => {
    const pairs = burnAlerts(pay28).filter((a) => a.condition.alert === 'burn-rate');
    expect(pairs.map((a) => a.factor)).toEqual([13.44, 5.6, 2.8, 0.933333333333]);
    const exprs = alertGroup(pay28)
      .rules.map((r) => r.expr)
      .join('\n');
    for (const a of pairs) expect(exprs).toContain(`> (${num(a.factor)} * ${num(errorBudget(pay28))})`);
    expect(exprs).not.toContain('14.4');
    expect(burn28!.sloId).toBe(pay28.id);
    expect(burn28!.report.peaks.map((p) => [p.pair, p.factor])).toEqual(pairs.map((a) => [`${a.condition.short}/${a.condition.long}`, a.factor]));
    expect(burn30!.report.peaks.map((p) => p.factor)).toEqual([14.4, 6, 3, 1]);
    // 7 % against a 0.5 % budget, over 70 minutes of a 28-day period.
    expect(burn28!.report.burnRate.value).toBeCloseTo(14, 9);
    expect(burn28!.report.budgetConsumed.value).toBeCloseTo((14 * MINUTES * MINUTE) / (28 * DAY), 12);
    expect(burn30!.report.budgetConsumed.value).toBeCloseTo((14 * MINUTES * MINUTE) / (30 * DAY), 12);
    for (const p of burn28!.report.peaks) expect(p.peak).toBeCloseTo(14, 9);
  });

  it('promtool fires exactly the pairs the measure says are exceeded: 5m/1h pages at 14× under 28 days, not under 30', async () => {
    const exceeded = (s: SloDefinition, b: typeof burn28) => {
      const over = new Set(b!.report.peaks.filter((p) => p.peak > p.factor).map((p) => p.pair));
      return burnAlerts(s).filter((a) => a.condition.alert === 'burn-rate' && over.has(`${a.condition.short}/${a.condition.long}`));
    };
    const expected = new Map([
      [pay28.id, exceeded(pay28, burn28)],
      [pay30.id, exceeded(pay30, burn30)],
    ]);
    expect(expected.get(pay28.id)!.map((a) => a.condition.long)).toEqual(['1h', '6h', '1d', '3d']);
    expect(expected.get(pay30.id)!.map((a) => a.condition.long)).toEqual(['6h', '1d', '3d']);
    const out = await promtoolFiring([pay28, pay30], expected);
    expect(out).toContain('SUCCESS');
  }, 60_000);

  it("the dashboard's burn thresholds and the report's factor lines are the rules' factors", () => {
    const d = JSON.parse(sloDashboard('pay', [pay28]).json);
    const panel = d.panels.find((p: { title?: string }) => p.title?.startsWith('availability: burn rate'));
    expect(panel.fieldConfig.defaults.thresholds.steps.map((s: { value: number | null }) => s.value)).toEqual([null, 0.933333333333, 2.8, 5.6, 13.44]);

    const record = recordFor([pay28]);
    const data = chartData(record, 0);
    const page = burnAlerts(pay28).filter((a) => a.condition.alert === 'burn-rate' && a.condition.severity === 'critical');
    expect(data.slos).toHaveLength(1);
    const [s] = data.slos;
    expect(s).toMatchObject({ sloId: pay28.id, objective: 0.995, period: '28d', factors: page.map((a) => a.factor) });
    expect(s!.thresholds).toEqual(page.map((a) => burnThreshold(a.factor, pay28)));
    expect(s!.thresholds).toEqual([0.0672, 0.028]);
    for (const b of s!.burn) expect(b).toBeCloseTo(burn28!.report.burnRate.value!, 9);
    expect(s!.burnRate).toBe(burn28!.report.burnRate.value);
    const html = renderReport([record], { uplotJs: '', uplotCss: '' }, 'burn');
    expect(html).toContain('against the page factors 13.44× (error ratio 6.72 %) and 5.6× (error ratio 2.8 %)');
    expect(html).toContain('objective 99.5 % over 28d');
    expect(html).not.toContain('14.4×'); // (not bare '14.4': the page's generation time may hold it)
    expect(burnDiffs(record)).toEqual([]);
  });
});

describe('every declared SLO, each against its own objective', () => {
  const record = recordFor([search, pay28]);

  it('two SLOs of different objectives get two burn reports and two sets of record keys', () => {
    const burns = measureSloBurns({ [search.id]: target(search), [pay28.id]: target(pay28) }, samples, T0, T0 + MINUTES * MINUTE, 'load');
    expect(burns.map((b) => b.sloId)).toEqual(['pay:availability', 'search:availability']);
    const [pay, srch] = burns;
    expect(pay!.report.objective).toBe(0.995);
    expect(srch!.report.objective).toBe(0.999);
    expect(pay!.report.burnRate.value).toBeCloseTo(0.07 / 0.005, 9);
    expect(srch!.report.burnRate.value).toBeCloseTo(0.07 / 0.001, 9);
    expect(srch!.report.peaks[0]).toMatchObject({ pair: '5m/1h', factor: 14.4 });
    expect(pay!.report.peaks[0]).toMatchObject({ pair: '5m/1h', factor: 13.44 });
    expect(Object.keys(sloBurnMeasures(burns)).sort()).toEqual([
      'slo.pay:availability.budgetConsumed',
      'slo.pay:availability.burnRate',
      'slo.pay:availability.errorRatio',
      'slo.search:availability.budgetConsumed',
      'slo.search:availability.burnRate',
      'slo.search:availability.errorRatio',
    ]);
    const data = chartData(record, 0);
    expect(data.slos.map((s) => [s.sloId, s.objective, s.factors])).toEqual([
      ['pay:availability', 0.995, [13.44, 5.6]],
      ['search:availability', 0.999, [14.4, 6]],
    ]);
    expect(renderReport([record], { uplotJs: '', uplotCss: '' }, 'two').match(/class="chart" id="run0-burn-\d"/g)).toHaveLength(2);
  });

  it('drill verify derives each SLO again, and catches an edited figure or burn against an SLO the drill does not declare', () => {
    expect(burnDiffs(record)).toEqual([]);
    const key = sloMeasureKey(search.id, 'burnRate');
    const edited: RunRecord = structuredClone(record);
    edited.measures[key]!.value = 1.5;
    expect(burnDiffs(edited)).toEqual([{ what: `measure ${key}`, recorded: 1.5, derived: record.measures[key]!.value }]);
    // Burn held against an extra, undeclared objective, figures consistent with it: still refused.
    const extra = structuredClone(record);
    const other = slo('other', 'availability', 99, 'OtherAvailability');
    extra.slos = { ...extra.slos, [other.id]: target(other) };
    Object.assign(extra.measures, sloBurnMeasures(measureSloBurns({ [other.id]: target(other) }, samples, T0, T0 + MINUTES * MINUTE, 'load')));
    expect(burnDiffs(extra).map((d) => d.what)).toEqual(['SLOs burn is measured against']);
  });
});

describe('no SLO declared, no burn', () => {
  it('measures nothing, the report says so, and verify refuses a burn figure nobody declared an objective for', () => {
    expect(measureSloBurns({}, samples, T0, T0 + MINUTES * MINUTE, 'load')).toEqual([]);
    const record = recordFor([]);
    expect(Object.keys(record.measures).filter((k) => k.startsWith('slo.'))).toEqual([]);
    const data = chartData(record, 0);
    expect(data.slos).toEqual([]);
    expect(data.errors.ratio.every((r) => r === 0.07)).toBe(true);
    const html = renderReport([record], { uplotJs: '', uplotCss: '' }, 'none');
    expect(html).toContain('no SLO declared: burn is not measured');
    expect(html).toContain('id="run0-errors"');
    expect(burnDiffs(record)).toEqual([]);
    // A figure against the old default 99.9 % objective in a record that declares no SLO.
    const stray: RunRecord = structuredClone(record);
    stray.measures.burnRate = { value: 70, unit: 'x', formula: 'burn-rate.v1', inputs: { objective: 0.999, periodMs: 30 * DAY } };
    expect(burnDiffs(stray)).toEqual([{ what: 'measure burnRate', recorded: 70, derived: 'no formula derives it' }]);
  });
});
