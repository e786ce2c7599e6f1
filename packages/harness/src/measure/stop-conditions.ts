// Stop conditions, evaluated on every event as it is appended. Each evaluator keeps only
// what it needs (running totals, the current streak), so a 72-hour log costs O(1) per event.
//  - error-ratio: requests are grouped into 1-second intervals (load samples or probe
//    results); breached when `for` consecutive closed intervals are above the bound.
//  - budget-consumed: errors/requests since the run started → burn × elapsed / period.
//  - alert-firing: an alert continuously firing (either source) longer than the bound.
//  - probe-failing: the named probe failed `for` times in a row.
import type { StopCondition } from '../define/types.ts';
import type { RunEvent } from '../engine/types.ts';
import { burnRate } from './burn.ts';

export interface StopBreach {
  condition: string;
  detail: string;
}

export interface StopContext {
  slos: Record<string, { objective: number; periodMs: number }>;
}

type Evaluator = (e: RunEvent) => StopBreach | undefined;

function requestsOf(e: RunEvent): { requests: number; errors: number; t: number } | undefined {
  if (e.kind === 'load.sample') return { requests: e.requests, errors: e.failures, t: e.t };
  if (e.kind === 'probe') return { requests: 1, errors: e.ok ? 0 : 1, t: e.started };
  return undefined;
}

function errorRatioEvaluator(c: Extract<StopCondition, { kind: 'error-ratio' }>, usesLoad: () => boolean): Evaluator {
  let second: number | undefined;
  let req = 0;
  let err = 0;
  let streak = 0;
  return (e) => {
    // While load runs, its samples are the traffic; probes alone otherwise.
    if (e.kind === 'probe' && usesLoad()) return undefined;
    const r = requestsOf(e);
    if (!r) return undefined;
    const s = Math.floor(r.t / 1000);
    let breach: StopBreach | undefined;
    if (second !== undefined && s > second && req > 0) {
      const ratio = err / req;
      streak = ratio > c.above ? streak + 1 : 0;
      if (streak >= c.for)
        breach = {
          condition: `error ratio above ${c.above} for ${c.for} intervals`,
          detail: `${streak} consecutive 1 s intervals above, last ${(ratio * 100).toFixed(1)}% (${err}/${req})`,
        };
      req = 0;
      err = 0;
    }
    if (second === undefined || s > second) second = s;
    req += r.requests;
    err += r.errors;
    return breach;
  };
}

function budgetEvaluator(c: Extract<StopCondition, { kind: 'budget-consumed' }>, ctx: StopContext, usesLoad: () => boolean): Evaluator {
  const slo = ctx.slos[c.slo];
  if (!slo) throw new Error(`stop condition budget-consumed names SLO '${c.slo}', which the drill did not import`);
  let start: number | undefined;
  let req = 0;
  let err = 0;
  return (e) => {
    if (e.kind === 'probe' && usesLoad()) return undefined;
    const r = requestsOf(e);
    if (!r) return undefined;
    start ??= r.t;
    req += r.requests;
    err += r.errors;
    const consumed = (burnRate(err / req, slo.objective) * (r.t - start)) / slo.periodMs;
    return consumed > c.above
      ? {
          condition: `budget of ${c.slo} consumed above ${(c.above * 100).toFixed(1)}%`,
          detail: `${(consumed * 100).toFixed(2)}% consumed (${err}/${req} errors)`,
        }
      : undefined;
  };
}

function alertEvaluator(c: Extract<StopCondition, { kind: 'alert-firing' }>): Evaluator {
  let since: number | undefined;
  return (e) => {
    if (e.kind === 'alert' && e.alert === c.alert) {
      if (e.state === 'firing') since ??= e.t;
      else if (e.state === 'resolved') since = undefined;
    }
    if (since !== undefined && e.t - since > c.longerThan)
      return { condition: `alert ${c.alert} firing longer than ${c.longerThan} ms`, detail: `firing for ${e.t - since} ms` };
    return undefined;
  };
}

function probeEvaluator(c: Extract<StopCondition, { kind: 'probe-failing' }>): Evaluator {
  let streak = 0;
  return (e) => {
    if (e.kind !== 'probe' || e.probe !== c.probe) return undefined;
    streak = e.ok ? 0 : streak + 1;
    return streak >= c.for
      ? { condition: `probe ${c.probe} failing ${c.for} times in a row`, detail: `${streak} consecutive failures, last: ${e.error ?? 'failed'}` }
      : undefined;
  };
}

/** One evaluator for a drill's stop conditions; `observe` returns the first breach. */
export function createStopEvaluator(conditions: readonly StopCondition[], ctx: StopContext) {
  let loadSeen = false;
  const usesLoad = () => loadSeen;
  const evaluators = conditions.map((c): Evaluator => {
    switch (c.kind) {
      case 'error-ratio':
        return errorRatioEvaluator(c, usesLoad);
      case 'budget-consumed':
        return budgetEvaluator(c, ctx, usesLoad);
      case 'alert-firing':
        return alertEvaluator(c);
      case 'probe-failing':
        return probeEvaluator(c);
    }
  });
  return {
    observe(event: RunEvent): StopBreach | undefined {
      if (event.kind === 'load.sample' && event.requests > 0) loadSeen = true;
      for (const ev of evaluators) {
        const b = ev(event);
        if (b) return b;
      }
      return undefined;
    },
  };
}
