import type { HostTensor } from '../../src/shared/index.js';

/** Deterministic values in [-1, 1] (an LCG), for inputs whose exact values do not matter. */
export function noise(shape: number[], seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { data, shape };
}
