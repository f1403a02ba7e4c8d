import { describe, expect, it } from 'vitest';
import { exactLog } from '../../../src/pipeline/noise/index.js';

function ulp(x: number): number {
  const e = Math.floor(Math.log2(Math.abs(x)));
  return 2 ** (e - 52);
}

describe('exactLog', () => {
  it('is exact where the answer is known', () => {
    expect(exactLog(1)).toBe(0);
    expect(exactLog(2)).toBe(Math.LN2);
    expect(exactLog(0.5)).toBe(-Math.LN2);
    expect(exactLog(Math.E)).toBe(1);
    expect(exactLog(10)).toBe(Math.LN10);
  });

  it('stays within one ulp of Math.log over many magnitudes', () => {
    let x = 1e-300;
    while (x < 1e300) {
      for (const f of [1, 1.0000001, 1.3, 1.41421356, 1.5, 1.999999]) {
        const v = x * f;
        const ref = Math.log(v);
        expect(Math.abs(exactLog(v) - ref)).toBeLessThanOrEqual(ulp(ref) * 1.0001);
      }
      x *= 7.3;
    }
  });

  it('handles subnormals and non-positive input like Math.log', () => {
    expect(exactLog(5e-324)).toBeCloseTo(Math.log(5e-324), 12);
    expect(exactLog(0)).toBe(-Infinity);
    expect(Number.isNaN(exactLog(-1))).toBe(true);
  });
});
