// Run ids name a run everywhere: the run log, the evidence file, the trace, Chaos Mesh objects.
import { randomBytes } from 'node:crypto';
import type { Clock } from './types.ts';

/** `run-20261122-220501-ab12`: sortable by start time (UTC), unique by its suffix. */
export function createRunId(clock: Clock, random: () => string = () => randomBytes(2).toString('hex')): string {
  const iso = new Date(clock.now()).toISOString(); // 2026-11-22T22:05:01.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return `run-${stamp}-${random()}`;
}
