import path from 'node:path';
import { GraphBuilder, type Dim } from '../onnx/index.js';
import { readConfig, VaeConfigSchema, type VaeConfig } from '../model-config.js';
import type { ComponentConverter } from '../convert.js';
import type { ManifestGraph } from '../manifest.js';
import { SafetensorsReader } from '../safetensors/index.js';
import { placeWeights, tableOf, type ComputeDtype, type WeightTable } from '../weights.js';
import { VaeLayers, type Act, type ChunkMode } from './vae-layers.js';
import { avgDown, dupUp } from './vae-shortcuts.js';
import { vaeDims, vaeWeightSpecs } from './vae-specs.js';

export { vaeDims, vaeWeightSpecs, type VaeDims } from './vae-specs.js';
export type { ChunkMode } from './vae-layers.js';

/**
 * The Wan2.2 VAE as ONNX graphs (docs/graphs.md, "VAE graphs"): chunk graphs for causal chunked running
 * (encoder: frame 0, then chunks of 4 frames; decoder: one latent frame at a time) with every temporal
 * layer's cache as explicit graph I/O, plus whole-sequence graphs. Graph I/O is float32; the compute dtype
 * is chosen at conversion, casts sit inside.
 */

export const VAE_OPSETS = { '': 23, 'com.microsoft': 1 } as const;

export const VAE_GRAPHS = [
  'vae_encoder_first', 'vae_encoder_step', 'vae_encoder_full',
  'vae_decoder_first', 'vae_decoder_step', 'vae_decoder_full',
] as const;
export type VaeGraphName = (typeof VAE_GRAPHS)[number];

/** ResBlock a → b: conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x). */
function resBlock(L: VaeLayers, x: Act, prefix: string, b: number): Act {
  const h = x.c === b ? x : L.conv1(x, `${prefix}.conv_shortcut`, b);
  let y = L.causalConv(L.silu(L.norm(x, `${prefix}.norm1.gamma`)), `${prefix}.conv1`, b);
  y = L.causalConv(L.silu(L.norm(y, `${prefix}.norm2.gamma`)), `${prefix}.conv2`, b);
  return add(L, y, h);
}

function midBlock(L: VaeLayers, x: Act, prefix: string): Act {
  x = resBlock(L, x, `${prefix}.resnets.0`, x.c);
  x = L.attention(x, `${prefix}.attentions.0`);
  return resBlock(L, x, `${prefix}.resnets.1`, x.c);
}

function add(L: VaeLayers, x: Act, y: Act): Act {
  return { ...x, v: L.g.op('Add', [x.v, y.v]) };
}

/**
 * Encoder graph: `pixels` [1, 3, F, H, W] float32 in [-1, 1] → `mu` [1, z, T, H/16, W/16] float32 (raw posterior
 * mean after quant_conv). F is 1 ('first': T = 1), 4k ('step': the next k latent frames; the reference's chunk
 * is k = 1) or 4k+1 ('full').
 */
export function buildVaeEncoderGraph(cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype, mode: ChunkMode): GraphBuilder {
  const v = vaeDims(cfg);
  const { enc, patch: p, zDim: z } = v;
  const n = enc.length - 1;
  const g = new GraphBuilder(`vae_encoder_${mode}`);
  const hw = (level: number): [Dim, Dim] => [`height/${p * 2 ** level}`, `width/${p * 2 ** level}`];
  const L = new VaeLayers(g, weights, dtype, mode, hw);
  const frames: Dim = mode === 'first' ? 1 : mode === 'step' ? 'chunk_frames' : 'frames';
  const pix = g.input('pixels', 'float32', [1, 3, frames, 'height', 'width']);
  let x = L.patchify(L.toCompute(pix), p, mode === 'first' ? 1 : null); // [1, 3p², F, H/p, W/p]
  x = L.causalConv(x, 'encoder.conv_in', enc[0]);
  for (let i = 0; i < n; i++) {
    const pre = `encoder.down_blocks.${i}`;
    const x0 = x;
    for (let j = 0; j < v.numResBlocks; j++) x = resBlock(L, x, `${pre}.resnets.${j}`, enc[i + 1]);
    const down = i < n - 1;
    if (down) {
      x = L.spaceDown(x, `${pre}.downsampler.resample.1`);
      if (v.tDown[i]) x = L.timeDown(x, `${pre}.downsampler.time_conv`);
    }
    x = add(L, x, avgDown(L, x0, enc[i + 1], down && v.tDown[i] ? 2 : 1, down ? 2 : 1));
  }
  x = midBlock(L, x, 'encoder.mid_block');
  x = L.causalConv(L.silu(L.norm(x, 'encoder.norm_out.gamma')), 'encoder.conv_out', 2 * z);
  const moments = L.conv1(x, 'quant_conv', 2 * z); // [1, 2z, T, h, w]: mean, then logvar (unused)
  const mu = g.op('Slice', [moments.v, g.i64([0]), g.i64([z]), g.i64([1])]);
  const sp = v.spatialFactor;
  const latentFrames: Dim = mode === 'first' ? 1 : mode === 'step' ? `chunk_frames/${v.temporalFactor}` : 'latent_frames';
  g.output(L.toF32(mu), 'mu', 'float32', [1, z, latentFrames, `height/${sp}`, `width/${sp}`]);
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
  const { dec, patch: p, zDim: z } = v;
  const n = dec.length - 1;
  const g = new GraphBuilder(`vae_decoder_${mode}`);
  const hw = (level: number): [Dim, Dim] => (level === 0 ? ['latent_h', 'latent_w'] : [`latent_h*${2 ** -level}`, `latent_w*${2 ** -level}`]);
  const L = new VaeLayers(g, weights, dtype, mode, hw);
  const latentFrames: Dim = mode === 'first' ? 1 : mode === 'step' ? 'chunk_latent_frames' : 'latent_frames';
  const latent = g.input('latent', 'float32', [1, z, latentFrames, 'latent_h', 'latent_w']);
  let x: Act = { v: L.toCompute(latent), c: z, t: mode === 'first' ? 1 : null, level: 0 };
  x = L.conv1(x, 'post_quant_conv', z);
  x = L.causalConv(x, 'decoder.conv_in', dec[0]);
  x = midBlock(L, x, 'decoder.mid_block');
  for (let i = 0; i < n; i++) {
    const pre = `decoder.up_blocks.${i}`;
    const x0 = x;
    for (let j = 0; j <= v.numResBlocks; j++) x = resBlock(L, x, `${pre}.resnets.${j}`, dec[i + 1]);
    if (i < n - 1) {
      if (v.tUp[i]) x = L.timeUp(x, `${pre}.upsampler.time_conv`);
      x = L.spaceUp(x, `${pre}.upsampler.resample.1`);
      x = add(L, x, dupUp(L, x0, dec[i + 1], v.tUp[i] ? 2 : 1, 2));
    }
  }
  x = L.causalConv(L.silu(L.norm(x, 'decoder.norm_out.gamma')), 'decoder.conv_out', 3 * p * p);
  const pix = g.op('Clip', [L.unpatchify(L.toF32(x.v), p), g.scalar(-1), g.scalar(1)]);
  const sp = v.spatialFactor;
  const frames: Dim = mode === 'first' ? 1 : mode === 'step' ? `${v.temporalFactor}*chunk_latent_frames` : 'frames';
  g.output(pix, 'pixels', 'float32', [1, 3, frames, `latent_h*${sp}`, `latent_w*${sp}`]);
  L.finish();
  return g;
}

/** Build one of the VAE graphs by name. */
export function buildVaeGraph(name: VaeGraphName, cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype): GraphBuilder {
  const [, part, mode] = name.split('_') as [string, 'encoder' | 'decoder', ChunkMode];
  return part === 'encoder' ? buildVaeEncoderGraph(cfg, weights, dtype, mode) : buildVaeDecoderGraph(cfg, weights, dtype, mode);
}

/** The VAE: weights placed once (`vae.*`), then every graph of VAE_GRAPHS. */
export const vaeComponent: ComponentConverter = {
  folder: 'vae',
  async convert(ctx) {
    const cfgFile = path.join(ctx.checkpoint, 'vae', 'config.json');
    const cfg = await readConfig(cfgFile, VaeConfigSchema);
    vaeDims(cfg, cfgFile);
    const reader = await SafetensorsReader.open(path.join(ctx.checkpoint, 'vae'));
    try {
      const specs = vaeWeightSpecs(cfg);
      let k = 0;
      const placed = await placeWeights(reader, specs, {
        outDir: ctx.out,
        fileBase: 'vae',
        computeDtype: ctx.dtype,
        link: ctx.link,
        onTensor: (name) => ctx.progress({ stage: 'weights', done: ++k, total: specs.length, item: name }),
      });
      const table = tableOf(placed);
      const graphs: Record<string, ManifestGraph> = {};
      for (const name of VAE_GRAPHS) graphs[name] = await ctx.writeGraph(name, 'vae', buildVaeGraph(name, cfg, table, ctx.dtype), VAE_OPSETS);
      return graphs;
    } finally {
      await reader.close();
    }
  },
};
