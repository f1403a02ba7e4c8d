import { tensor, type HostTensor } from '../../shared/index.js';

/**
 * Per-channel latent normalisation as the reference computes it in float32:
 * z = (mu − mean[c]) · (1/std[c]) with the float32 reciprocal, and back z / (1/std[c]) + mean[c].
 */

function reciprocals(std: Float32Array): Float32Array {
  return Float32Array.from(std, (s) => 1 / s);
}

function mapChannels(latent: HostTensor, channels: number, fn: (x: number, c: number) => number): HostTensor {
  const [batch, c, ...rest] = latent.shape;
  if (c !== channels) throw new RangeError(`latent has ${c} channels, statistics have ${channels}`);
  const plane = rest.reduce((a, b) => a * b, 1);
  const src = latent.data;
  const out = new Float32Array(src.length);
  for (let b = 0; b < batch; b++) {
    for (let ch = 0; ch < c; ch++) {
      const start = (b * c + ch) * plane;
      for (let k = start; k < start + plane; k++) out[k] = fn(src[k], ch);
    }
  }
  return tensor(out, latent.shape);
}

/** Raw posterior mean [1, C, T, H, W] → normalised latent. */
export function normaliseLatents(raw: HostTensor, mean: Float32Array, std: Float32Array): HostTensor {
  const inv = reciprocals(std);
  return mapChannels(raw, mean.length, (x, c) => Math.fround(Math.fround(x - mean[c]) * inv[c]));
}

/** Normalised latent → VAE decoder input. */
export function denormaliseLatents(z: HostTensor, mean: Float32Array, std: Float32Array): HostTensor {
  const inv = reciprocals(std);
  return mapChannels(z, mean.length, (x, c) => Math.fround(Math.fround(x / inv[c]) + mean[c]));
}
