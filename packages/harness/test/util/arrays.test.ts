import { describe, expect, it } from 'vitest';
import { maxOf, minOf, pushAll } from '../../src/util/arrays.ts';

describe('array helpers safe at any length', () => {
  it('agree with Math.max/min on small input, including empty and NaN', () => {
    for (const xs of [[], [3], [1, 5, -2], [2, NaN, 1]]) {
      expect(maxOf(xs)).toBe(Math.max(...xs)); // eslint-disable-line no-restricted-syntax -- the reference, on small input
      expect(minOf(xs)).toBe(Math.min(...xs)); // eslint-disable-line no-restricted-syntax -- the reference, on small input
    }
  });

  it('handle a million elements, where a spread overflows the call stack', () => {
    const xs = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);
    expect(() => Math.max(...xs)).toThrow(RangeError); // eslint-disable-line no-restricted-syntax -- shows why the rule exists
    expect(maxOf(xs)).toBe(1_000_002);
    expect(minOf(xs)).toBe(0);
    expect(pushAll([1], xs).length).toBe(1_000_001);
  });
});
