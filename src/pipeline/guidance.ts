/**
 * Velocity post-processing of the reference loop: zero on conditioning frames/steps and on action columns
 * beyond the raw width, then classifier-free guidance v = u + g (c − u) in float32.
 */

const f32 = Math.fround;

/** Zero `v` [rows, rowSize] on every row whose `noisy` flag is 0 (in place). */
export function zeroCleanRows(v: Float32Array, noisy: Float32Array, rowSize: number): void {
  for (let r = 0; r < noisy.length; r++) if (noisy[r] === 0) v.fill(0, r * rowSize, (r + 1) * rowSize);
}

/** Zero `v` [1, C, T, H, W] on clean latent frames (in place). */
export function zeroCleanFrames(v: Float32Array, noisy: Float32Array, channels: number): void {
  const frames = noisy.length;
  const plane = v.length / (channels * frames);
  for (let c = 0; c < channels; c++) zeroCleanRows(v.subarray(c * frames * plane, (c + 1) * frames * plane), noisy, plane);
}

/** Zero columns ≥ `keep` of a row-major [rows, width] matrix (in place). */
export function zeroColumnsFrom(m: Float32Array, width: number, keep: number): void {
  for (let r = 0; r < m.length / width; r++) m.fill(0, r * width + keep, (r + 1) * width);
}

/** u + g (c − u), each operation rounded to float32 like the reference tensors. */
export function combineGuidance(cond: Float32Array, uncond: Float32Array, guidance: number): Float32Array {
  const out = new Float32Array(cond.length);
  const g = f32(guidance);
  for (let k = 0; k < out.length; k++) out[k] = f32(uncond[k] + f32(g * f32(cond[k] - uncond[k])));
  return out;
}
