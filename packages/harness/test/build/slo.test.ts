import { describe, expect, it } from 'vitest';
import { defineAlert, defineSlo, loadOpenSlo, sliErrorRatio } from '../../src/define/slo.ts';
import { DefinitionError } from '../../src/define/errors.ts';
import { BURN_CONDITIONS, burnFactor, errorBudget, windowMs } from '../../src/slo/conventions.ts';

const base = {
  service: 'graph-api',
  name: 'availability',
  objective: 99.9,
  sli: { errors: 'sum(rate(x_total{code=~"5.."}[{{window}}]))', total: 'sum(rate(x_total[{{window}}]))' },
  alerting: { name: 'GraphApiAvailability', runbook: 'runbooks/graph-api-availability.md' },
};

function issuesOf(fn: () => unknown): DefinitionError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DefinitionError) return e;
    throw e;
  }
  throw new Error('expected a DefinitionError');
}

describe('defineSlo', () => {
  it('normalises objective, period and id', () => {
    const s = defineSlo(base);
    expect(s).toMatchObject({ kind: 'slo', id: 'graph-api:availability', objective: 0.999, periodDays: 30, period: 30 * 86_400_000 });
    expect(errorBudget(s)).toBe(0.001);
    expect(defineSlo({ ...base, period: '28d' }).periodDays).toBe(28);
  });

  it('names the field and the fix for bad input', () => {
    const e = issuesOf(() =>
      defineSlo({ ...base, objective: 100, period: '7d' as '30d', sli: { errors: 'sum(rate(x[5m]))', total: 'sum(rate(x[{{window}}]))' } }, 'alerts/x.slo.ts'),
    );
    const paths = e.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['objective', 'period']));
    expect(paths.some((p) => p.startsWith('sli'))).toBe(true);
    expect(e.message).toContain('alerts/x.slo.ts: objective');
    expect(e.issues.find((i) => i.path === 'period')!.fix).toContain("'28d'");
    const r = issuesOf(() => defineSlo({ ...base, alerting: { name: 'X', runbook: 'docs/x.txt' } }));
    expect(r.issues[0]).toMatchObject({ path: 'alerting.runbook' });
    expect(r.issues[0]!.fix).toContain('runbooks/');
  });

  it("accepts Sloth's {{.window}} spelling and substitutes windows", () => {
    const s = defineSlo({ ...base, sli: { errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{ window }}]))' } });
    expect(sliErrorRatio(s.sli, '1h')).toBe('(sum(rate(e[1h])))\n/\n(sum(rate(t[1h])))');
  });

  it('turns a latency SLI into slow requests over all requests at the histogram bucket', () => {
    const s = defineSlo({
      ...base,
      name: 'latency',
      objective: 99,
      sli: { latency: { metric: 'http_request_duration_seconds_bucket', threshold: '250ms', selector: '{service="graph-api"}' } },
    });
    expect(s.sli).toEqual({ kind: 'latency', metric: 'http_request_duration_seconds', thresholdSeconds: 0.25, selector: 'service="graph-api"' });
    const q = sliErrorRatio(s.sli, '5m');
    expect(q).toContain('http_request_duration_seconds_bucket{service="graph-api",le="0.25"}[5m]');
    expect(q).toContain('sum(rate(http_request_duration_seconds_count{service="graph-api"}[5m]))');
  });
});

describe('burn factors', () => {
  it('derives the SRE workbook factors from budget share, window and period', () => {
    const thirty = defineSlo(base).period;
    const factors = BURN_CONDITIONS.map((c) => burnFactor(c, thirty));
    expect(factors).toEqual([14.4, 6, 3, 1, 14.4, 6]);
    const twentyEight = defineSlo({ ...base, period: '28d' }).period;
    expect(BURN_CONDITIONS.map((c) => burnFactor(c, twentyEight))).toEqual([13.44, 5.6, 2.8, 0.933333333333, 13.44, 5.6]);
  });

  it('a total outage trips the 5m/1h page pair within about a minute (arithmetic)', () => {
    // Error ratio 1 against a 0.1 % budget is a burn of 1000x; the long-window ratio
    // grows linearly from the outage start, so it crosses 14.4x after 14.4/1000 of the window.
    const slo = defineSlo(base);
    const page = BURN_CONDITIONS[0]!;
    const burn = 1 / errorBudget(slo);
    const after = (windowMs(page.long) * burnFactor(page, slo.period)) / burn;
    expect(after).toBeCloseTo(51_840, 0);
    expect((windowMs(page.short!) * burnFactor(page, slo.period)) / burn).toBeCloseTo(4_320, 0);
  });
});

describe('defineAlert', () => {
  it('parses durations in examples and rejects missing fields by name', () => {
    const a = defineAlert({
      name: 'Down',
      service: 'graph-api',
      expr: 'up == 0',
      for: '5s',
      severity: 'warning',
      summary: 's',
      description: 'd',
      runbook: 'runbooks/down.md',
      examples: [{ name: 'e', series: { up: '1x5 0x10' }, firingAt: ['12s'], quietAt: ['2s'] }],
    });
    expect(a.for).toBe(5000);
    expect(a.examples[0]).toMatchObject({ interval: 1000, firingAt: [12_000], quietAt: [2000], seriesLabels: {} });
    const e = issuesOf(() =>
      defineAlert({
        name: 'Down',
        service: 'graph-api',
        expr: 'up == 0',
        severity: 'sev1' as 'critical',
        summary: 's',
        description: 'd',
        runbook: 'runbooks/down.md',
      }),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['severity']);
  });
});

describe('loadOpenSlo', () => {
  const doc = `
apiVersion: openslo/v1
kind: SLI
metadata:
  name: good-requests
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total[{{.window}}]))
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: graph-api
  indicatorRef: good-requests
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: good
      target: 0.995
`;
  it('reads an SLO with a referenced ratio SLI, errors = total − good', () => {
    const [s] = loadOpenSlo(doc, { alerting: { availability: { name: 'GraphApiAvailability', runbook: 'runbooks/graph-api-availability.md' } } });
    expect(s).toMatchObject({ id: 'graph-api:availability', objective: 0.995, periodDays: 28 });
    expect(sliErrorRatio(s!.sli, '5m')).toBe(
      '((sum(rate(http_requests_total[5m]))) - (sum(rate(http_requests_total{code!~"5.."}[5m]))))\n/\n(sum(rate(http_requests_total[5m])))',
    );
  });

  it('names a missing SLI reference', () => {
    const e = issuesOf(() => loadOpenSlo(doc.replace('indicatorRef: good-requests', 'indicatorRef: nope'), { alerting: {} }));
    expect(e.issues[0]).toMatchObject({ path: '[1].spec.indicatorRef' });
  });
});
