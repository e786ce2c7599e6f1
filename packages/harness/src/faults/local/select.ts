// Which of the matched targets a fault hits, by Chaos Mesh's modes. Pure, so a drill's
// choice is reproducible when given the same random source.
import type { FaultMode } from '../../define/types.ts';

export function selectTargets<T>(candidates: readonly T[], selection: FaultMode, random: () => number = Math.random): T[] {
  const pool = [...candidates];
  // Fisher–Yates with the given random source: an unbiased pick for one/fixed/fixed-percent.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  switch (selection.mode) {
    case 'all':
      return [...candidates];
    case 'one':
      return pool.slice(0, 1);
    case 'fixed':
      return pool.slice(0, Math.min(selection.value, pool.length));
    case 'fixed-percent':
      return pool.slice(0, Math.max(1, Math.floor((pool.length * selection.value) / 100)));
  }
}
