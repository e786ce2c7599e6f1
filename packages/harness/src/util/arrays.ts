// Array helpers that are safe at any length. Spreading an array into a call
// (into Math.max, or into push) passes every element as an argument and overflows the
// call stack above ~125k elements — a 72 h run's events are more. Lint forbids the spread;
// these loop instead. Empty input gives what Math.max()/Math.min() give (-Infinity/Infinity).

export function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max || Number.isNaN(v)) max = v;
  return max;
}

export function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min || Number.isNaN(v)) min = v;
  return min;
}

/** Appends every item to `target` (in place) and returns it. */
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
