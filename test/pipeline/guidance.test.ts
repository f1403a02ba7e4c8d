import { describe, expect, it } from 'vitest';
import { combineGuidance } from '../../src/pipeline/index.js';
import { zeroCleanFrames, zeroCleanRows, zeroColumnsFrom } from '../../src/pipeline/guidance.js';

describe('guidance and masking', () => {
  it('combines u + g (c − u) in float32', () => {
    const out = combineGuidance(Float32Array.from([1, 2]), Float32Array.from([0.5, 2]), 4);
    expect(Array.from(out)).toEqual([2.5, 2]);
  });

  it('zeroes clean frames of [1, C, T, H, W]', () => {
    const v = new Float32Array(2 * 3 * 2).fill(1); // C 2, T 3, plane 2
    zeroCleanFrames(v, Float32Array.from([0, 1, 0]), 2);
    expect(Array.from(v)).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0]);
  });

  it('zeroes clean rows and columns beyond the raw width', () => {
    const a = new Float32Array(2 * 4).fill(1);
    zeroCleanRows(a, Float32Array.from([1, 0]), 4);
    zeroColumnsFrom(a, 4, 3);
    expect(Array.from(a)).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
  });
});
