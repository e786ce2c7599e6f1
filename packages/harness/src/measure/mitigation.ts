// Time to mitigate and rollback duration, for faults that stayed in until the team's own
// automation (or a person) took them out. Pure functions of the run log and the episodes:
// - TTM = start of the first successful mitigation − t_inject (detection + the automation's reaction).
// - rollback duration = t_recover − start of that mitigation.
// - An episode that waited for mitigation passes only when a mitigation succeeded before the
//   deadline; when the harness had to take the fault out itself, it fails, naming the script's error.
import type { DrillPlan } from '../define/types.ts';
import type { RunEvent } from '../engine/types.ts';
import type { Episode } from './episodes.ts';
import type { Measure } from './types.ts';
import type { Check } from './verdict.ts';

type MitigationEvent = Extract<RunEvent, { kind: 'mitigation' }>;

export interface MitigationOutcome {
  faultId: string;
  phase: string;
  /** Start of the first successful mitigation (undefined: none). */
  tMitigation: number | undefined;
  by: MitigationEvent['by'] | undefined;
  /** Attempts that failed, in order (a script's non-zero exit, a revert that threw). */
  failures: MitigationEvent[];
  /** The harness took the fault out at its safety deadline. */
  deadlineReverted: boolean;
  ttm: Measure;
  rollback: Measure;
}

export interface MitigationMeasurement {
  outcomes: MitigationOutcome[];
  /** `<phase>.ttm` and `<phase>.rollback`. */
  measures: Record<string, Measure>;
  checks: Check[];
}

const ms = (value: number | null, formula: string, inputs: Record<string, unknown>, note?: string): Measure => ({
  value,
  unit: 'ms',
  formula,
  inputs,
  ...(note ? { note } : {}),
});

/** The last non-empty line of a script's output: what a reviewer needs to see of its error. */
export function lastLine(output: string | undefined): string | undefined {
  const lines = (output ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1];
}

function describeFailure(f: MitigationEvent): string {
  const who = f.script ?? (f.by === 'person' ? 'the revert a person asked for' : f.by);
  const exit = f.exitCode === undefined ? '' : f.exitCode === null ? ' (killed)' : ` (exit ${f.exitCode})`;
  const line = lastLine(f.output);
  return `${who} failed${exit}${line ? `: ${line}` : ''}`;
}

/** TTM, rollback duration and the "mitigated in time" check of every episode that waited for mitigation or got one. */
export function measureMitigations(events: readonly RunEvent[], plan: DrillPlan, episodes: readonly Episode[]): MitigationMeasurement {
  const outcomes: MitigationOutcome[] = [];
  const measures: Record<string, Measure> = {};
  const checks: Check[] = [];
  for (const e of episodes) {
    const phase = plan.phases.find((p) => p.name === e.phase);
    const attempts: Array<{ event: MitigationEvent; index: number }> = [];
    events.forEach((ev, index) => {
      if (ev.kind === 'mitigation' && ev.faultId === e.faultId) attempts.push({ event: ev, index });
    });
    if (phase?.until !== 'mitigated' && attempts.length === 0) continue;
    // The first successful one by start time: attempts are written when they END, so not in start order.
    let first: { event: MitigationEvent; index: number } | undefined;
    for (const a of attempts) if (a.event.ok && (!first || a.event.t < first.event.t)) first = a;
    const failures = attempts.filter((a) => !a.event.ok).map((a) => a.event);
    const deadlineIdx = events.findIndex((ev) => ev.kind === 'fault.reverting' && ev.faultId === e.faultId && ev.reason === 'deadline');
    const tMitigation = first?.event.t;
    const ttm = ms(
      tMitigation === undefined ? null : tMitigation - e.tInject,
      'ttm.v1',
      { injectEvent: e.ttr.inputs.injectEvent, mitigationEvent: first?.index ?? null, attempts: attempts.map((a) => a.index) },
      tMitigation === undefined ? (failures.length ? `not mitigated: ${describeFailure(failures[failures.length - 1]!)}` : 'not mitigated') : undefined,
    );
    const rolledBack = tMitigation !== undefined && e.tRecover !== undefined && e.tRecover >= tMitigation;
    const rollback = ms(
      rolledBack ? e.tRecover! - tMitigation : null,
      'rollback.v1',
      { mitigationEvent: first?.index ?? null, recoveryRunEvents: e.ttr.inputs.recoveryRunEvents ?? [] },
      tMitigation === undefined
        ? 'not mitigated'
        : e.tRecover === undefined
          ? 'not recovered after the mitigation'
          : rolledBack
            ? undefined
            : 'recovered before the mitigation started',
    );
    measures[`${e.phase}.ttm`] = ttm;
    measures[`${e.phase}.rollback`] = rollback;
    const deadlineReverted = deadlineIdx >= 0;
    outcomes.push({ faultId: e.faultId, phase: e.phase, tMitigation, by: first?.event.by, failures, deadlineReverted, ttm, rollback });
    if (phase?.until === 'mitigated' && !e.injectFailed) {
      const ok = tMitigation !== undefined && !deadlineReverted;
      const why = [
        deadlineReverted
          ? `not recovered in time: the harness reverted the fault at its deadline of ${phase.deadline ?? '?'} ms`
          : tMitigation === undefined
            ? 'not mitigated'
            : '',
        ...failures.map(describeFailure),
      ].filter(Boolean);
      checks.push({
        name: `${e.phase}: mitigated before the deadline`,
        ok,
        detail: ok ? `TTM ${ttm.value} ms by ${first!.event.by}${first!.event.script ? ` (${first!.event.script})` : ''}` : why.join('; '),
      });
    }
  }
  return { outcomes, measures, checks };
}
