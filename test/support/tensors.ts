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

/**
 * A shorter prompt over the same generator rows, as an unconditional pass sees them: the first `keep` text
 * columns of joint positions [3, N] whose text is `textLen` long, the generator columns shifted to follow.
 */
export function shorterPromptPositions(positions: Float32Array, textLen: number, keep: number): HostTensor<Float32Array> {
  const N = positions.length / 3;
  const M = N - textLen + keep;
  const out = new Float32Array(3 * M);
  for (let r = 0; r < 3; r++) {
    out.set(positions.subarray(r * N, r * N + keep), r * M);
    for (let j = textLen; j < N; j++) out[r * M + keep + j - textLen] = positions[r * N + j] - (textLen - keep);
  }
  return { data: out, shape: [3, M] };
}
