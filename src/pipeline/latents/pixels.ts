import { tensor, type HostTensor, type RgbFrames } from '../../shared/index.js';

/** Conversions between RGB uint8 frames [F, H, W, 3] and VAE pixels [1, 3, F, H, W] in [-1, 1]. */

const CHANNELS = 3;
const MAX_BYTE = 255;

/** uint8 → [-1, 1] as the reference: x / 127.5 − 1 in float32. */
export function rgbToSigned(frames: RgbFrames): HostTensor {
  const { data, frames: f, height: h, width: w } = frames;
  const plane = h * w;
  const out = new Float32Array(CHANNELS * f * plane); // [1, 3, F, H, W]
  const lut = new Float32Array(MAX_BYTE + 1);
  for (let v = 0; v <= MAX_BYTE; v++) lut[v] = Math.fround(Math.fround(v / (MAX_BYTE / 2)) - 1);
  for (let t = 0; t < f; t++) {
    for (let p = 0; p < plane; p++) {
      const src = (t * plane + p) * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) out[(c * f + t) * plane + p] = lut[data[src + c]];
    }
  }
  return tensor(out, [1, CHANNELS, f, h, w]);
}

/** numpy's round (half to even) of a value ≥ 0. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 === 1 ? r - 1 : r;
}

/** Decoded [1, 3, F, H, W] in [-1, 1] → uint8 frames: round(clamp(x/2 + 1/2, 0, 1) · 255) (float32, half to even). */
export function signedToRgb(pixels: HostTensor): RgbFrames {
  const [batch, c, f, h, w] = pixels.shape;
  if (pixels.shape.length !== 5 || batch !== 1 || c !== CHANNELS) {
    throw new RangeError(`signedToRgb: expected [1, 3, F, H, W], got [${pixels.shape.join(', ')}]`);
  }
  const plane = h * w;
  const out = new Uint8Array(f * plane * CHANNELS);
  const src = pixels.data;
  for (let ch = 0; ch < CHANNELS; ch++) {
    for (let t = 0; t < f; t++) {
      const base = (ch * f + t) * plane;
      for (let p = 0; p < plane; p++) {
        let v = Math.fround(Math.fround(src[base + p] * 0.5) + 0.5);
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        out[(t * plane + p) * CHANNELS + ch] = roundHalfEven(Math.fround(v * MAX_BYTE));
      }
    }
  }
  return { data: out, frames: f, height: h, width: w };
}
