import type { HostTensor, RgbFrames } from '../shared/index.js';

/**
 * The networks a mode pipeline drives. The engine implements them over ONNX Runtime sessions (see
 * docs/graphs.md for the graphs behind them); tests implement them in plain TypeScript. The pipeline never
 * sees ORT, files or threads.
 */

export interface DenoiserActionInputs {
  /** [A, actionDim] action latent, raw actions zero-padded to actionDim columns. */
  readonly tokens: HostTensor;
  /** [A] 1 for a noisy (generated) step, 0 for a clean (conditioning) step. */
  readonly noisy: Float32Array;
  /** Embodiment domain id (row of the per-domain projection tables). */
  readonly domainId: number;
}

export interface DenoiserInputs {
  /** [L] text token ids (chat template + eos + vision start). */
  readonly inputIds: BigInt64Array;
  /** [1, C, T, H, W] normalised vision latent entering this step. */
  readonly visionLatents: HostTensor;
  /** [T] 1 for a noisy (generated) latent frame, 0 for a clean (conditioning) frame. */
  readonly visionNoisy: Float32Array;
  /** Diffusion timestep of the noisy tokens, integer-valued in 0..1000. */
  readonly timestep: number;
  /** [3, N] mRoPE positions (temporal, height, width) of the joint sequence text ; vision ; actions. */
  readonly positions: Float32Array;
  readonly actions?: DenoiserActionInputs;
}

export interface DenoiserOutputs {
  /** [1, C, T, H, W] velocity, exactly 0 on clean frames. */
  readonly vision: HostTensor;
  /** [A, actionDim] action velocity, 0 on clean steps (present when actions were given). */
  readonly action?: HostTensor;
}

export interface Denoiser {
  run(inputs: DenoiserInputs): Promise<DenoiserOutputs>;
  /**
   * Both classifier-free-guidance passes of one step at once, where the implementation can (the two inputs
   * share latent, noisy mask and timestep and differ in prompt): resolves [cond, uncond] equal to two `run`s,
   * or undefined to have the caller run them one by one.
   */
  runPair?(cond: DenoiserInputs, uncond: DenoiserInputs): Promise<readonly [DenoiserOutputs, DenoiserOutputs] | undefined>;
}

/** Cancellation for a VAE call: checked before each run; a run in progress (ONNX Runtime cannot stop it) ends first. */
export interface VaeCallOptions {
  readonly signal?: AbortSignal;
}

export interface VaeCodec {
  /** pixels [1, 3, F, H, W] in [-1, 1], F = 4k+1 → raw (un-normalised) posterior mean [1, z, T, H/16, W/16]. */
  encode(pixels: HostTensor, options?: VaeCallOptions): Promise<HostTensor>;
  /** raw latent [1, z, T, h, w] → pixels [1, 3, 4(T−1)+1, 16h, 16w] clamped to [-1, 1]. */
  decode(latent: HostTensor, options?: VaeCallOptions): Promise<HostTensor>;
  /** encode(rgbToSigned(frames)), where the implementation converts faster (on the device). */
  encodeFrames?(frames: RgbFrames, options?: VaeCallOptions): Promise<HostTensor>;
  /** signedToRgb(decode(latent)), where the implementation converts faster (on the device). */
  decodeFrames?(latent: HostTensor, options?: VaeCallOptions): Promise<RgbFrames>;
  /** Per-channel latent normalisation from vae/config.json. */
  readonly latentsMean: Float32Array;
  readonly latentsStd: Float32Array;
}

export interface Networks {
  readonly denoiser: Denoiser;
  readonly vae: VaeCodec;
}
