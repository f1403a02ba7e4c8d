import { describe, expect, it } from 'vitest';
import { Mt19937 } from '../../../src/pipeline/noise/index.js';

describe('Mt19937', () => {
  it('matches the reference generator for the canonical seed 5489', () => {
    const mt = new Mt19937(5489);
    expect([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()]).toEqual([3499211612, 581869302, 3890346734]);
    for (let i = 3; i < 9999; i++) mt.nextUint32();
    expect(mt.nextUint32()).toBe(4123659995); // the 10000th output (C++ std::mt19937 check value)
  });

  it('draws 53-bit doubles in [0, 1)', () => {
    const mt = new Mt19937(0);
    for (let i = 0; i < 1000; i++) {
      const d = mt.nextDouble();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1);
      expect(Number.isInteger(d * 2 ** 53)).toBe(true);
    }
  });
});
