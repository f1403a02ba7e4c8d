import type { HostTensor, RgbFrames } from '../../shared/index.js';
import { tensor } from '../../shared/index.js';

/** Frame-level helpers over RGB uint8 clips [F, H, W, 3] and latents [1, C, T, H, W]. */

const CHANNELS = 3;

/** Exactly `count` frames: cut, or pad by repeating the last frame. */
export function fitFrameCount(frames: RgbFrames, count: number): RgbFrames {
  if (frames.frames < 1) throw new RangeError('fitFrameCount: no frames');
  if (frames.frames === count) return frames;
  const size = frames.height * frames.width * CHANNELS;
  const out = new Uint8Array(count * size);
  for (let t = 0; t < count; t++) {
    const src = Math.min(t, frames.frames - 1) * size;
    out.set(frames.data.subarray(src, src + size), t * size);
  }
  return { data: out, frames: count, height: frames.height, width: frames.width };
}

/** The first `count` frames (no copy). */
export function leadingFrames(frames: RgbFrames, count: number): RgbFrames {
  const size = frames.height * frames.width * CHANNELS;
  return { data: frames.data.subarray(0, count * size), frames: count, height: frames.height, width: frames.width };
}

/**
 * Pad each frame right and bottom to `height` × `width`: 'replicate' repeats the edge pixel, 'reflect'
 * mirrors without repeating the edge (torch F.pad modes; reflect needs pads smaller than the content).
 */
export function padFrames(frames: RgbFrames, height: number, width: number, mode: 'replicate' | 'reflect'): RgbFrames {
  const { height: h, width: w } = frames;
  if (height < h || width < w) throw new RangeError(`padFrames: ${w}x${h} does not fit in ${width}x${height}`);
  if (mode === 'reflect' && (height - h >= h || width - w >= w)) {
    throw new RangeError('padFrames: reflect padding must be smaller than the content');
  }
  const source = (i: number, n: number): number => (i < n ? i : mode === 'replicate' ? n - 1 : 2 * (n - 1) - i);
  const cols = Int32Array.from({ length: width }, (_, x) => source(x, w));
  const out = new Uint8Array(frames.frames * height * width * CHANNELS);
  for (let t = 0; t < frames.frames; t++) {
    const srcFrame = t * h * w * CHANNELS;
    const dstFrame = t * height * width * CHANNELS;
    for (let y = 0; y < height; y++) {
      const srcRow = srcFrame + source(y, h) * w * CHANNELS;
      const dstRow = dstFrame + y * width * CHANNELS;
      for (let x = 0; x < width; x++) {
        const s = srcRow + cols[x] * CHANNELS;
        const d = dstRow + x * CHANNELS;
        out[d] = frames.data[s];
        out[d + 1] = frames.data[s + 1];
        out[d + 2] = frames.data[s + 2];
      }
    }
  }
  return { data: out, frames: frames.frames, height, width };
}

/** Latent [1, C, T, H, W] → its top-left [1, C, T, rows, cols]. */
export function cropLatent(latent: HostTensor, rows: number, cols: number): HostTensor {
  const [b, c, t, h, w] = latent.shape;
  if (rows > h || cols > w) throw new RangeError(`cropLatent: ${rows}x${cols} exceeds ${h}x${w}`);
  if (rows === h && cols === w) return latent;
  const out = new Float32Array(b * c * t * rows * cols);
  let o = 0;
  for (let plane = 0; plane < b * c * t; plane++) {
    for (let y = 0; y < rows; y++) {
      const s = (plane * h + y) * w;
      out.set(latent.data.subarray(s, s + cols), o);
      o += cols;
    }
  }
  return tensor(out, [b, c, t, rows, cols]);
}
