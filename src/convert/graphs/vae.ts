import path from 'node:path';
import { GraphBuilder, type Dim } from '../onnx/index.js';
import { readConfig, VaeConfigSchema, type VaeConfig } from '../model-config.js';
import type { ComponentConverter } from '../convert.js';
import type { ManifestGraph } from '../manifest.js';
import type { ComputeDtype, WeightTable } from '../weights.js';
import { VaeLayers, type ChunkMode } from './vae-layers.js';
import { buildVaeDecoderLoopGraph, buildVaeEncoderLoopGraph } from './vae-loop.js';
import { decoderHw, decoderNet, encoderHw, encoderNet } from './vae-nets.js';
import { vaeDims, vaeWeightSpecs } from './vae-specs.js';

export { vaeDims, vaeWeightSpecs, type VaeDims } from './vae-specs.js';
export type { ChunkMode } from './vae-layers.js';
export { buildVaeDecoderLoopGraph, buildVaeEncoderLoopGraph, type VaeLoopIo } from './vae-loop.js';

/**
 * The Wan2.2 VAE as ONNX graphs (docs/graphs.md, "VAE graphs"): Loop graphs that run the whole causal chunked
 * sequence in one session run (encoder: frame 0, then chunks of 4 frames; decoder: one latent frame at a time)
 * with the caches as Loop state (vae-loop.ts), chunk graphs for the same running with every temporal layer's
 * cache as explicit graph I/O (models converted before 0.2.0, tests), plus whole-sequence graphs. Graph I/O is float32
 * (the `*_loop_rgb8` Loop graphs, which the server runs, take and return RGB bytes instead); the compute
 * dtype is chosen at conversion, casts sit inside.
 */

export const VAE_OPSETS = { '': 23, 'com.microsoft': 1 } as const;

export const VAE_GRAPHS = [
  'vae_encoder_first', 'vae_encoder_step', 'vae_encoder_full',
  'vae_decoder_first', 'vae_decoder_step', 'vae_decoder_full',
  'vae_encoder_loop', 'vae_decoder_loop',
  'vae_encoder_loop_rgb8', 'vae_decoder_loop_rgb8',
] as const;
export type VaeGraphName = (typeof VAE_GRAPHS)[number];

/**
 * Encoder graph: `pixels` [1, 3, F, H, W] float32 in [-1, 1] → `mu` [1, z, T, H/16, W/16] float32 (raw posterior
 * mean after quant_conv). F is 1 ('first': T = 1), 4k ('step': the next k latent frames; the reference's chunk
 * is k = 1) or 4k+1 ('full').
 */
export function buildVaeEncoderGraph(cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype, mode: ChunkMode): GraphBuilder {
  const v = vaeDims(cfg);
  const g = new GraphBuilder(`vae_encoder_${mode}`);
  const L = new VaeLayers(g, weights, dtype, mode, encoderHw(v));
  const frames: Dim = mode === 'first' ? 1 : mode === 'step' ? 'chunk_frames' : 'frames';
  const pix = g.input('pixels', 'float32', [1, 3, frames, 'height', 'width']);
  const mu = encoderNet(L, v, pix);
  const sp = v.spatialFactor;
  const latentFrames: Dim = mode === 'first' ? 1 : mode === 'step' ? `chunk_frames/${v.temporalFactor}` : 'latent_frames';
  g.output(mu, 'mu', 'float32', [1, v.zDim, latentFrames, `height/${sp}`, `width/${sp}`]);
  L.finish();
  return g;
}

/**
 * Decoder graph: raw latent `latent` [1, z, T, h, w] float32 → `pixels` [1, 3, F, 16h, 16w] float32 clamped to
 * [-1, 1]. 'first': T = 1 → F = 1; 'step': the next T latent frames (the reference's chunk is T = 1) → F = 4T;
 * 'full': the whole sequence → F = 4(T−1)+1.
 */
export function buildVaeDecoderGraph(cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype, mode: ChunkMode): GraphBuilder {
  const v = vaeDims(cfg);
  const g = new GraphBuilder(`vae_decoder_${mode}`);
  const L = new VaeLayers(g, weights, dtype, mode, decoderHw);
  const latentFrames: Dim = mode === 'first' ? 1 : mode === 'step' ? 'chunk_latent_frames' : 'latent_frames';
  const latent = g.input('latent', 'float32', [1, v.zDim, latentFrames, 'latent_h', 'latent_w']);
  const pix = decoderNet(L, v, latent);
  const sp = v.spatialFactor;
  const frames: Dim = mode === 'first' ? 1 : mode === 'step' ? `${v.temporalFactor}*chunk_latent_frames` : 'frames';
  g.output(pix, 'pixels', 'float32', [1, 3, frames, `latent_h*${sp}`, `latent_w*${sp}`]);
  L.finish();
  return g;
}

/** Build one of the VAE graphs by name. */
export function buildVaeGraph(name: VaeGraphName, cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype): GraphBuilder {
  const [, part, mode, io] = name.split('_') as [string, 'encoder' | 'decoder', ChunkMode | 'loop', 'rgb8' | undefined];
  if (mode === 'loop') {
    const build = part === 'encoder' ? buildVaeEncoderLoopGraph : buildVaeDecoderLoopGraph;
    return build(cfg, weights, dtype, io ?? 'float32');
  }
  return part === 'encoder' ? buildVaeEncoderGraph(cfg, weights, dtype, mode) : buildVaeDecoderGraph(cfg, weights, dtype, mode);
}

/** The VAE: weights placed once (`vae.*`), then every graph of VAE_GRAPHS. */
export const vaeComponent: ComponentConverter = {
  folder: 'vae',
  async convert(ctx) {
    const cfgFile = path.join(ctx.checkpoint, 'vae', 'config.json');
    const cfg = await readConfig(cfgFile, VaeConfigSchema);
    vaeDims(cfg, cfgFile);
    const table = await ctx.placeWeights('vae', vaeWeightSpecs(cfg));
    const graphs: Record<string, ManifestGraph> = {};
    for (const name of VAE_GRAPHS) graphs[name] = await ctx.writeGraph(name, 'vae', buildVaeGraph(name, cfg, table, ctx.dtype), VAE_OPSETS);
    return graphs;
  },
};
