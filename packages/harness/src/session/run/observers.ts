// Who reacts to the run log as it grows: typed observers, one handler per event kind, instead
// of one if-chain. The pipeline registers them on the log; each stays small and testable.
import type { RunEvent } from '../../engine/types.ts';

export type RunObserver = { [K in RunEvent['kind']]?: (event: Extract<RunEvent, { kind: K }>) => void };

/** One listener for the run log that hands each event to every observer of its kind. */
export function dispatchTo(observers: readonly RunObserver[]): (event: RunEvent) => void {
  return (event) => {
    for (const o of observers) (o[event.kind] as ((e: RunEvent) => void) | undefined)?.(event);
  };
}

/** The lines a person watching the run sees. */
export function progressNotes(note: (line: string) => void): RunObserver {
  return {
    'phase.started': (e) => note(`▶ ${e.phase}`),
    'fault.injected': (e) => note(`  fault in: ${e.targets.join(', ')}`),
    'fault.reverted': () => note('  fault out'),
    alert: (e) => {
      if (e.state === 'firing' && e.source === 'prometheus') note(`  alert firing: ${e.alert}`);
    },
    mitigation: (e) => {
      const result = e.ok ? 'done' : `failed${e.exitCode !== undefined ? ` (exit ${e.exitCode})` : ''}`;
      note(`  mitigation by ${e.script ?? e.by}: ${result}${e.note ? ` — ${e.note}` : ''}`);
    },
    'stop.breached': (e) => note(`■ stop condition: ${e.condition} (${e.detail})`),
  };
}
