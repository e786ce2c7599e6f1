// The verdict of a run, from its measures and the plan's expectations. Every check is
// listed with its figure, so a reviewer sees why, not only what.
import type { RunEvent, Verdict } from '../engine/types.ts';
import type { Episode } from './episodes.ts';
import type { RestoreReport } from './restore.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerdictInput {
  outcome: { status: 'completed' | 'aborted' | 'error'; reason?: string };
  events: readonly RunEvent[];
  episodes: readonly Episode[];
  restore?: RestoreReport;
  coverage?: { value: number; min: number };
  /** Checks decided elsewhere from recorded results (the load profile's thresholds). */
  extraChecks?: readonly Check[];
}

export function decideVerdict(input: VerdictInput): { verdict: Verdict; checks: Check[] } {
  const checks: Check[] = [];
  for (const e of input.episodes) {
    if (e.injectFailed) checks.push({ name: `${e.phase}: fault went in`, ok: false, detail: 'the provider could not inject the fault' });
    for (const [alert, at] of Object.entries(e.alertsFired))
      checks.push({
        name: `${e.phase}: ${alert} fired`,
        ok: at !== undefined,
        detail: at !== undefined ? `after ${at - e.tInject} ms` : 'never fired: the alert did not do its job',
      });
    if (e.recoverWithin !== undefined && !e.injectFailed)
      checks.push({
        name: `${e.phase}: recovered within ${e.recoverWithin} ms`,
        ok: e.ttr.value !== null && e.ttr.value <= e.recoverWithin,
        detail: e.ttr.value === null ? 'not recovered' : `TTR ${e.ttr.value} ms${e.noImpact ? ' (no visible impact)' : ''}`,
      });
    if (e.unexpectedAlerts.length)
      checks.push({ name: `${e.phase}: no unexpected page`, ok: false, detail: `${e.unexpectedAlerts.join(', ')} paged without being expected` });
  }
  const stuck = input.events.filter((e) => e.kind === 'fault.revert-failed');
  checks.push({
    name: 'every fault reverted',
    ok: stuck.length === 0,
    detail: stuck.length ? `${stuck.length} revert(s) failed: run 'drill recover'` : '0 faults left in',
  });
  for (const c of input.restore?.checks ?? []) checks.push(c);
  for (const c of input.extraChecks ?? []) checks.push(c);
  if (input.coverage)
    checks.push({
      name: `trace coverage ≥ ${(input.coverage.min * 100).toFixed(0)}%`,
      ok: input.coverage.value >= input.coverage.min,
      detail: `${(input.coverage.value * 100).toFixed(1)}%`,
    });
  let verdict: Verdict;
  if (input.outcome.status === 'error') verdict = 'error';
  else if (input.outcome.status === 'aborted') verdict = 'aborted';
  else verdict = checks.every((c) => c.ok) ? 'pass' : 'fail';
  return { verdict, checks };
}
