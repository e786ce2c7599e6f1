// Choosing the local stage's synthetic history: the windows come from the rule files the
// stage loads (following recording rules), the rate from the drill's load.
import { describe, expect, it } from 'vitest';
import { defineLoadProfile } from '../../src/define/load.ts';
import { alertWindows, chooseHistory, longestRange, startRate } from '../../src/session/run/history.ts';

const request = { method: 'POST' as const, path: '/ingest', expect: { status: 201 } };

describe('synthetic history choice', () => {
  it('finds the longest range selector, subqueries included', () => {
    expect(longestRange('rate(x[5m]) / rate(x[1h])')).toBe(3_600_000);
    expect(longestRange('max_over_time(rate(x[1m])[2h:30s])')).toBe(7_200_000);
    expect(longestRange('up == 0')).toBe(0);
  });

  it("follows the recording rules an alert reads, not other records' names that merely share a prefix", () => {
    const rules = [
      { record: 'job:err:ratio_rate1h', expr: 'sum(rate(e[1h])) / sum(rate(t[1h]))' },
      { record: 'job:err:ratio_rate1h_total', expr: 'sum(rate(e[3d]))' },
      { record: 'job:nested', expr: 'job:err:ratio_rate1h * 2' },
      { alert: 'Page', expr: 'job:nested > 0.0144 and rate(e[5m]) > 0' },
      { alert: 'Fast', expr: 'rate(e[15s]) > 1' },
    ];
    const w = alertWindows(rules, ['Page', 'Fast', 'Missing']);
    expect(w).toEqual(
      new Map([
        ['Page', 3_600_000],
        ['Fast', 15_000],
      ]),
    );
  });

  it('takes the rate the load starts with: constant and ramping arrival rates, per second', () => {
    const p = defineLoadProfile({
      name: 'mix',
      request,
      scenarios: {
        a: { executor: 'constant-arrival-rate', rate: 120, timeUnit: '1m', duration: '1m', preAllocatedVUs: 1 },
        b: { executor: 'ramping-arrival-rate', stages: [{ duration: '10s', target: 5 }], preAllocatedVUs: 1 },
        c: { executor: 'constant-vus', vus: 3, duration: '1m' },
      },
    });
    expect(startRate(p)).toBe(2 + 5);
  });

  it('says why there is none: turned off, no load, or a load without an arrival rate', () => {
    const windows = new Map([['Page', 3_600_000]]);
    const vus = defineLoadProfile({ name: 'vus', request, scenarios: { c: { executor: 'constant-vus', vus: 3, duration: '1m' } } });
    expect(chooseHistory({ configuredMs: 0, windows }).decision).toEqual({ lengthMs: 0, why: "history: '0' in the environment's stage config" });
    expect(chooseHistory({ windows }).decision.why).toMatch(/no load profile/);
    expect(chooseHistory({ windows, load: vus }).decision.why).toMatch(/starts with no arrival rate/);
    expect(chooseHistory({ windows: new Map(), load: vus }).decision.why).toMatch(/expects no alert/);
  });
});
