import { relL2, type HostTensor } from '../../shared/index.js';
import type { Manifest } from '../../convert/index.js';
import { OrtVae } from '../../engine/ort-vae.js';
import { denormaliseLatents, normaliseLatents, rgbToSigned, signedToRgb } from '../../pipeline/latents/index.js';
import type { GoldenCase } from './fixture.js';
import type { CaseResult } from './transformer-case.js';

export interface VaeCaseOptions {
  /** Also run the whole-sequence graphs (vae_encoder_full, vae_decoder_full) against the same references. */
  readonly oneShot?: boolean;
}

/** Channels [0, n) of a [1, C, ...] tensor. */
function leadingChannels(x: HostTensor, n: number): Float32Array {
  const per = x.data.length / x.shape[1];
  return x.data.subarray(0, n * per);
}

/**
 * Run a vae_* case through our chunked VAE graphs: encode `encode_in` → `encode_mean` (and the mean half of
 * `encode_moments`), normalised with the pipeline's float32 formula → `encode_normalized`; decode
 * `decode_in_raw` → `decode_out`; the RGB-byte graphs where the model has them. Also checks the pipeline
 * normalisation itself on the reference tensors.
 */
export async function runVaeCase(c: GoldenCase, modelDir: string, manifest: Manifest, tolerance: number, opts: VaeCaseOptions = {}): Promise<CaseResult[]> {
  const vae = await OrtVae.open(modelDir, manifest, { device: 'cpu' });
  try {
    const results: CaseResult[] = [];
    const push = (name: string, ours: ArrayLike<number>, ref: ArrayLike<number>) => results.push({ name, relErr: relL2(ours, ref), tolerance });
    const { latentsMean: mean, latentsStd: std } = vae;
    const refMean = await c.f32('encode_mean');
    const refNorm = await c.f32('encode_normalized');
    const refRaw = await c.f32('decode_in_raw');
    const refOut = await c.f32('decode_out');

    // pipeline normalisation on the reference tensors
    push('normalise(encode_mean) vs encode_normalized', normaliseLatents(refMean, mean, std).data, refNorm.data);
    push('denormalise(decode_in_normalized) vs decode_in_raw', denormaliseLatents(await c.f32('decode_in_normalized'), mean, std).data, refRaw.data);

    const pixels = await c.f32('encode_in');
    const mu = await vae.encode(pixels);
    push('encode_mean', mu.data, refMean.data);
    if (c.has('encode_moments')) push('encode_moments[:z]', mu.data, leadingChannels(await c.f32('encode_moments'), vae.zDim));
    push('encode_normalized', normaliseLatents(mu, mean, std).data, refNorm.data);
    push('decode_out', (await vae.decode(refRaw)).data, refOut.data);
    if (vae.rgb8) {
      // the graphs the server runs. Bytes out against the reference's pixels as bytes, exactly: no byte more than
      // 1 off (a float difference of ~1e-6 flips a value on a rounding tie by one, so a rel L2 of bytes would
      // hinge on the number of ties). Bytes in against the float32 graph on the same bytes (the reference has no
      // byte input).
      const ours = (await vae.decodeFrames(refRaw)).data;
      const ref = signedToRgb(refOut).data;
      const off = ours.length !== ref.length ? ref.length : ref.reduce((n, b, i) => (Math.abs(b - ours[i]) > 1 ? n + 1 : n), 0);
      results.push({ name: 'decode_out as RGB bytes (vae_decoder_loop_rgb8): bytes more than 1 off', relErr: off, tolerance: 0 });
      const bytes = signedToRgb(pixels);
      push('encode_mean from RGB bytes (vae_encoder_loop_rgb8) vs the float32 graph', (await vae.encodeFrames(bytes)).data, (await vae.encode(rgbToSigned(bytes))).data);
    }

    if (opts.oneShot) {
      push('encode_mean (one-shot)', (await vae.encodeOneShot(pixels)).data, refMean.data);
      push('decode_out (one-shot)', (await vae.decodeOneShot(refRaw)).data, refOut.data);
    }
    return results;
  } finally {
    await vae.release();
  }
}
