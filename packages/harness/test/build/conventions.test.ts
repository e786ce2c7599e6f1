// The SLO conventions: ids, queries, windows and record keys every consumer derives from.
import { describe, expect, it } from 'vitest';
import { defineGameDay, stop } from '../../src/define/index.ts';
import { defineSlo } from '../../src/define/slo.ts';
import {
  burnWindows,
  declaredSloIds,
  multiWindowPairs,
  pageFactors,
  parseSloMeasureKey,
  periodWindow,
  sliErrorRatioQuery,
  sloMeasureKey,
  sloSelector,
  slothId,
} from '../../src/slo/conventions.ts';

const sli = { errors: 'sum(rate(e[{{window}}]))', total: 'sum(rate(t[{{window}}]))' };
const availability = defineSlo({ service: 'graph-api', name: 'availability', objective: 99.9, sli, alerting: { name: 'A', runbook: 'runbooks/a.md' } });
const latency = defineSlo({ service: 'graph-api', name: 'latency', objective: 99, period: '28d', sli, alerting: { name: 'L', runbook: 'runbooks/l.md' } });

describe('SLO conventions', () => {
  it("names an SLO as Sloth does, and queries the run's SLI from the generated 5m recording", () => {
    expect(slothId(availability)).toBe('graph-api-availability');
    expect(sloSelector(availability)).toBe('{sloth_id="graph-api-availability", sloth_service="graph-api", sloth_slo="availability"}');
    expect(sliErrorRatioQuery(availability)).toBe('slo:sli_error:ratio_rate5m{sloth_id="graph-api-availability"}');
    expect(periodWindow(latency.period)).toBe('28d');
  });

  it('derives every window pair and factor from the period, the windows staying the same', () => {
    expect(burnWindows(availability.period).map((w) => [w.alert, w.pair, w.factor])).toEqual([
      ['burn-rate', '5m/1h', 14.4],
      ['burn-rate', '30m/6h', 6],
      ['burn-rate', '2h/1d', 3],
      ['burn-rate', '6h/3d', 1],
      ['budget-burn', '1h', 14.4],
      ['budget-burn', '6h', 6],
    ]);
    expect(multiWindowPairs(latency.period).map((w) => [w.pair, w.shortMs, w.longMs, w.factor])).toEqual([
      ['5m/1h', 300_000, 3_600_000, 13.44],
      ['30m/6h', 1_800_000, 21_600_000, 5.6],
      ['2h/1d', 7_200_000, 86_400_000, 2.8],
      ['6h/3d', 21_600_000, 259_200_000, 0.933333333333],
    ]);
    expect(pageFactors(latency.period)).toEqual([13.44, 5.6]);
  });

  it('keys burn measures per SLO, apart from per-phase keys', () => {
    const key = sloMeasureKey(availability.id, 'burnRate');
    expect(key).toBe('slo.graph-api:availability.burnRate');
    expect(parseSloMeasureKey(key)).toEqual({ sloId: 'graph-api:availability', measure: 'burnRate' });
    expect(parseSloMeasureKey('kill.ttd')).toBeUndefined();
    expect(parseSloMeasureKey('slo.ttd')).toBeUndefined();
    expect(parseSloMeasureKey('burnRate')).toBeUndefined();
  });

  it('a drill declares the SLOs of its checks and its budget stops, each once', () => {
    const phases = [{ name: 'steady', duration: '1m' }];
    const stopWhen = [stop.budgetConsumed(availability, '5%')];
    const both = defineGameDay({ name: 'd', environments: ['local'], phases, checks: { slo: [latency, availability] }, stopWhen });
    expect(declaredSloIds(both.plan)).toEqual(['graph-api:availability', 'graph-api:latency']);
    expect(declaredSloIds(defineGameDay({ name: 'd', environments: ['local'], phases }).plan)).toEqual([]);
  });
});
