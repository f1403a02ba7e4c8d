import { describe, expect, it } from 'vitest';
import { tensor } from '../../../src/shared/index.js';
import { cropLatent, fitFrameCount, padFrames } from '../../../src/pipeline/latents/index.js';

function gray(values: number[][], frames = 1) {
  const h = values.length;
  const w = values[0].length;
  const data = new Uint8Array(frames * h * w * 3);
  for (let t = 0; t < frames; t++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(values[y][x] + t, ((t * h + y) * w + x) * 3, ((t * h + y) * w + x) * 3 + 3);
  return { data, frames, height: h, width: w };
}
const plane = (f: { data: Uint8Array; height: number; width: number }, t = 0) =>
  Array.from({ length: f.height }, (_, y) => Array.from({ length: f.width }, (_, x) => f.data[((t * f.height + y) * f.width + x) * 3]));

describe('frame helpers', () => {
  it('reflect-pads right/bottom without repeating the edge', () => {
    const p = padFrames(gray([[1, 2, 3], [4, 5, 6]]), 3, 5, 'reflect');
    expect(plane(p)).toEqual([[1, 2, 3, 2, 1], [4, 5, 6, 5, 4], [1, 2, 3, 2, 1]]);
  });

  it('replicate-pads with the edge pixel', () => {
    const p = padFrames(gray([[1, 2], [3, 4]]), 3, 4, 'replicate');
    expect(plane(p)).toEqual([[1, 2, 2, 2], [3, 4, 4, 4], [3, 4, 4, 4]]);
    expect(() => padFrames(gray([[1, 2]]), 1, 4, 'reflect')).toThrow(RangeError);
  });

  it('fits the frame count by cutting or repeating the last frame', () => {
    const clip = gray([[10]], 2);
    expect(plane(fitFrameCount(clip, 4), 3)).toEqual([[11]]);
    expect(fitFrameCount(clip, 1).frames).toBe(1);
  });

  it('crops a latent top-left', () => {
    const lat = tensor(Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i), [1, 2, 1, 3, 4]);
    const c = cropLatent(lat, 2, 2);
    expect(c.shape).toEqual([1, 2, 1, 2, 2]);
    expect(Array.from(c.data)).toEqual([0, 1, 4, 5, 12, 13, 16, 17]);
  });

});
