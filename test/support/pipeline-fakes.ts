import { relL2, tensor, type HostTensor } from '../../src/shared/index.js';
import type { Denoiser, DenoiserInputs, DenoiserOutputs, Networks, VaeCodec } from '../../src/pipeline/networks.js';
import type { GoldenCase } from './pipeline-fixtures.js';

/** Fake networks for pipeline tests. */

function sameIds(a: BigInt64Array, b: BigInt64Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export interface GoldenDenoiser extends Denoiser {
  /** rel L2 of the vision latent each call received vs the fixture's step{i}.vision_in. */
  readonly inputErrors: { step: number; pass: 'cond' | 'uncond'; vision: number; action?: number }[];
  calls: number;
}

/** Replays a golden e2e case: returns step{i}.cond_v / uncond_v / cond_action_v for the step whose timestep it sees. */
export function goldenDenoiser(c: GoldenCase): GoldenDenoiser {
  const timesteps = Array.from(c.i64('timesteps'), Number);
  const cond = c.i64('cond_input_ids');
  const vShape = c.shape('initial_latents');
  const inputErrors: GoldenDenoiser['inputErrors'] = [];
  const fake: GoldenDenoiser = {
    inputErrors,
    calls: 0,
    async run(inputs: DenoiserInputs): Promise<DenoiserOutputs> {
      fake.calls++;
      const step = timesteps.indexOf(inputs.timestep);
      if (step < 0) throw new Error(`golden denoiser: unexpected timestep ${inputs.timestep}`);
      const pass = sameIds(inputs.inputIds, cond) ? 'cond' : 'uncond';
      const entry: GoldenDenoiser['inputErrors'][number] = {
        step,
        pass,
        vision: relL2(inputs.visionLatents.data, c.f32(`step${step}.vision_in`)),
      };
      if (inputs.actions && c.has(`step${step}.action_in`)) entry.action = relL2(inputs.actions.tokens.data, c.f32(`step${step}.action_in`));
      inputErrors.push(entry);
      const out: { vision: HostTensor; action?: HostTensor } = {
        vision: tensor(Float32Array.from(c.f32(`step${step}.${pass}_v`)), vShape),
      };
      if (inputs.actions) {
        const key = `step${step}.${pass}_action_v`;
        out.action = tensor(Float32Array.from(c.f32(key)), c.shape(key));
      }
      return out;
    },
  };
  return fake;
}

export interface RecordedCall {
  readonly inputIds: BigInt64Array;
  readonly timestep: number;
  readonly visionShape: readonly number[];
  readonly vision: Float32Array;
  readonly actions?: Float32Array;
  readonly visionNoisy: number[];
  readonly positions: Float32Array;
  readonly actionShape?: readonly number[];
  readonly actionNoisy?: number[];
  readonly domainId?: number;
}

/**
 * A small deterministic denoiser: v = 0.5·x + 0.01·t/1000 on every element (nonzero on clean frames too, so
 * the pipeline's masking is exercised); actions likewise. Records what it was called with.
 */
export function affineDenoiser(): Denoiser & { readonly calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    async run(inputs) {
      calls.push({
        inputIds: inputs.inputIds,
        timestep: inputs.timestep,
        visionShape: inputs.visionLatents.shape,
        vision: Float32Array.from(inputs.visionLatents.data),
        actions: inputs.actions ? Float32Array.from(inputs.actions.tokens.data) : undefined,
        visionNoisy: Array.from(inputs.visionNoisy),
        positions: inputs.positions,
        actionShape: inputs.actions?.tokens.shape,
        actionNoisy: inputs.actions ? Array.from(inputs.actions.noisy) : undefined,
        domainId: inputs.actions?.domainId,
      });
      const bias = (0.01 * inputs.timestep) / 1000 + (inputs.inputIds.length % 7) * 1e-3;
      const v = Float32Array.from(inputs.visionLatents.data, (x) => 0.5 * x + bias);
      const out: { vision: HostTensor; action?: HostTensor } = { vision: tensor(v, inputs.visionLatents.shape) };
      if (inputs.actions) {
        const a = Float32Array.from(inputs.actions.tokens.data, (x) => 0.5 * x + bias + 0.1);
        out.action = tensor(a, inputs.actions.tokens.shape);
      }
      return out;
    },
  };
}

/**
 * A fake VAE with the real shape contract: encode averages 16×16 pixel blocks (frame 0 alone, then groups
 * of 4 frames) into every latent channel, decode repeats the latent back; records the shapes it saw.
 */
export function blockVae(channels: number, temporal = 4, spatial = 16): VaeCodec & { encoded: number[][]; decoded: number[][]; signals: (AbortSignal | undefined)[] } {
  const encoded: number[][] = [];
  const decoded: number[][] = [];
  const signals: (AbortSignal | undefined)[] = [];
  return {
    encoded,
    decoded,
    signals,
    latentsMean: Float32Array.from({ length: channels }, (_, c) => 0.01 * c),
    latentsStd: Float32Array.from({ length: channels }, (_, c) => 1 + 0.1 * c),
    async encode(pixels, options) {
      encoded.push([...pixels.shape]);
      signals.push(options?.signal);
      const [, , f, h, w] = pixels.shape;
      if ((f - 1) % temporal !== 0 || h % spatial !== 0 || w % spatial !== 0) throw new RangeError(`blockVae.encode: bad shape ${pixels.shape}`);
      const t = (f - 1) / temporal + 1;
      const lh = h / spatial;
      const lw = w / spatial;
      const out = new Float32Array(channels * t * lh * lw);
      for (let lt = 0; lt < t; lt++) {
        const frame = lt === 0 ? 0 : 1 + (lt - 1) * temporal;
        for (let y = 0; y < lh; y++) {
          for (let x = 0; x < lw; x++) {
            let sum = 0;
            for (let dy = 0; dy < spatial; dy++) for (let dx = 0; dx < spatial; dx++) sum += pixels.data[(frame * h + y * spatial + dy) * w + x * spatial + dx];
            for (let c = 0; c < channels; c++) out[((c * t + lt) * lh + y) * lw + x] = sum / (spatial * spatial) + 0.001 * c;
          }
        }
      }
      return tensor(out, [1, channels, t, lh, lw]);
    },
    async decode(latent, options) {
      decoded.push([...latent.shape]);
      signals.push(options?.signal);
      const [, , t, lh, lw] = latent.shape;
      const f = (t - 1) * temporal + 1;
      const h = lh * spatial;
      const w = lw * spatial;
      const out = new Float32Array(3 * f * h * w);
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < f; k++) {
          const lt = k === 0 ? 0 : Math.floor((k - 1) / temporal) + 1;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const v = latent.data[((c * t + lt) * lh + Math.floor(y / spatial)) * lw + Math.floor(x / spatial)];
              out[((c * f + k) * h + y) * w + x] = Math.max(-1, Math.min(1, Math.tanh(v)));
            }
          }
        }
      }
      return tensor(out, [1, 3, f, h, w]);
    },
  };
}

export function fakeNetworks(channels: number): Networks & { denoiser: ReturnType<typeof affineDenoiser>; vae: ReturnType<typeof blockVae> } {
  return { denoiser: affineDenoiser(), vae: blockVae(channels) };
}
