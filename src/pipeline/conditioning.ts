import { assert, numel, tensor, type HostTensor, type JobSpec, type RgbFrames } from '../shared/index.js';
import { denormaliseLatents, normaliseLatents, rgbToSigned, signedToRgb } from './latents/index.js';
import type { VaeCodec } from './networks.js';
import type { PromptRequest } from './text/index.js';

/** Building the initial latents from noise and clean conditioning, and the VAE round trips. */

/** The prompt request of a vision mode: the request's prompts and the output's frames, fps and size. */
export function visionPrompt(spec: Readonly<JobSpec>, pixelFrames: number): PromptRequest {
  return {
    prompt: spec.prompt,
    negativePrompt: spec.negativePrompt,
    media: { frames: pixelFrames, fps: spec.fps, height: spec.height, width: spec.width },
  };
}

/** [T] latent-frame mask: the first `cleanFrames` frames are conditioning (0), the rest generated (1). */
export function noisyFrames(latentFrames: number, cleanFrames: number): Float32Array {
  const mask = new Float32Array(latentFrames).fill(1);
  mask.fill(0, 0, Math.min(cleanFrames, latentFrames));
  return mask;
}

/** RGB frames → normalised latent [1, C, T, h, w] (the VAE sees [-1, 1] pixels [1, 3, F, H, W]). */
export async function encodeFrames(vae: VaeCodec, frames: RgbFrames, signal?: AbortSignal): Promise<HostTensor> {
  const raw = vae.encodeFrames ? await vae.encodeFrames(frames, { signal }) : await vae.encode(rgbToSigned(frames), { signal });
  return normaliseLatents(raw, vae.latentsMean, vae.latentsStd);
}

/** Normalised latent → RGB uint8 frames. */
export async function decodeLatents(vae: VaeCodec, z: HostTensor, signal?: AbortSignal): Promise<RgbFrames> {
  const raw = denormaliseLatents(z, vae.latentsMean, vae.latentsStd);
  return vae.decodeFrames ? vae.decodeFrames(raw, { signal }) : signedToRgb(await vae.decode(raw, { signal }));
}

/**
 * noise [1, C, T, H, W] with every clean frame (noisy[t] = 0) replaced by frame t of `clean`
 * ([1, C, T', H, W] with T' > the last clean frame).
 */
export function mixCleanFrames(noise: Float32Array, shape: readonly number[], noisy: Float32Array, clean?: HostTensor): HostTensor {
  const [, channels, frames, h, w] = shape;
  const out = noise.slice();
  const plane = h * w;
  for (let t = 0; t < frames; t++) {
    if (noisy[t] !== 0) continue;
    assert(clean !== undefined, 'clean latent for a conditioning frame');
    const [, cc, ct, chh, cww] = clean.shape;
    assert(cc === channels && chh === h && cww === w && t < ct, `clean latent [${clean.shape.join(', ')}] covers frame ${t} of [${shape.join(', ')}]`);
    for (let c = 0; c < channels; c++) {
      const src = (c * ct + t) * plane;
      out.set(clean.data.subarray(src, src + plane), (c * frames + t) * plane);
    }
  }
  return tensor(out, shape);
}

/**
 * Raw action rows [T][D] → [chunk, actionDim]: short inputs repeat their last row, long ones are cut,
 * columns are zero-padded to actionDim.
 */
export function padActions(rows: readonly (readonly number[])[], chunk: number, actionDim: number): Float32Array {
  assert(rows.length > 0, 'at least one action row');
  const out = new Float32Array(chunk * actionDim);
  for (let r = 0; r < chunk; r++) {
    const row = rows[Math.min(r, rows.length - 1)];
    assert(row.length <= actionDim, `action width ${row.length} ≤ ${actionDim}`);
    for (let k = 0; k < row.length; k++) out[r * actionDim + k] = row[k];
  }
  return out;
}

/** noise [A, D] with clean steps (noisy[r] = 0) taken from `clean` and columns ≥ rawDim zeroed. */
export function mixCleanActions(noise: Float32Array, noisy: Float32Array, clean: Float32Array | undefined, actionDim: number, rawDim: number): HostTensor {
  const steps = noisy.length;
  assert(noise.length === steps * actionDim, 'action noise [A, actionDim]');
  const out = noise.slice();
  for (let r = 0; r < steps; r++) {
    if (noisy[r] === 0) {
      assert(clean !== undefined, 'clean actions for a conditioning step');
      out.set(clean.subarray(r * actionDim, (r + 1) * actionDim), r * actionDim);
    }
    out.fill(0, r * actionDim + rawDim, (r + 1) * actionDim);
  }
  return tensor(out, [steps, actionDim]);
}

/** Rows of [A, D] trimmed to their first `rawDim` columns, as plain numbers. */
export function trimActions(actions: HostTensor, rawDim: number): number[][] {
  const [steps, width] = actions.shape;
  assert(numel(actions.shape) === actions.data.length && rawDim <= width, 'action latent [A, D] with rawDim ≤ D');
  return Array.from({ length: steps }, (_, r) => Array.from(actions.data.subarray(r * width, r * width + rawDim)));
}
