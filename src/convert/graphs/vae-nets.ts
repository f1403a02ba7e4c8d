import { float, type Dim } from '../onnx/index.js';
import type { Act, VaeLayers } from './vae-layers.js';
import { avgDown, dupUp } from './vae-shortcuts.js';
import type { VaeDims } from './vae-specs.js';

/**
 * The Wan2.2 VAE networks over one chunk (or the whole sequence), shared by every VAE graph: the chunk rule is
 * the VaeLayers' mode, so the same code builds the 'first', 'step' and 'full' graphs and both paths of the
 * Loop graphs (docs/graphs.md, "VAE graphs").
 */

/** Symbolic [H, W] of the encoder's activations at a spatial level (cache declarations). */
export const encoderHw = (v: VaeDims) => (level: number): [Dim, Dim] => [`height/${v.patch * 2 ** level}`, `width/${v.patch * 2 ** level}`];

/** Symbolic [H, W] of the decoder's activations at a spatial level (negative below the latent). */
export const decoderHw = (level: number): [Dim, Dim] => (level === 0 ? ['latent_h', 'latent_w'] : [`latent_h*${2 ** -level}`, `latent_w*${2 ** -level}`]);

function add(L: VaeLayers, x: Act, y: Act): Act {
  return { ...x, v: L.g.op('Add', [x.v, y.v]) };
}

/** ResBlock a → b: conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x). */
function resBlock(L: VaeLayers, x: Act, prefix: string, b: number): Act {
  const h = x.c === b ? x : L.conv1(x, `${prefix}.conv_shortcut`, b);
  let y = L.causalConv(L.silu(L.norm(x, `${prefix}.norm1.gamma`)), `${prefix}.conv1`, b);
  y = L.causalConv(L.silu(L.norm(y, `${prefix}.norm2.gamma`)), `${prefix}.conv2`, b);
  return add(L, y, h);
}

/**
 * Mid-block attention: per frame, one head over the H·W positions (frames are the batch of
 * com.microsoft.MultiHeadAttention, so scores are [T, N, N]: one frame's in every chunk graph).
 */
function attention(L: VaeLayers, x: Act, prefix: string): Act {
  const g = L.g;
  const d = x.c;
  const u = L.norm(x, `${prefix}.norm.gamma`);
  const rows = g.op('Transpose', [g.op('Reshape', [u.v, g.i64([d, -1])])], { perm: [1, 0] }); // [T·N, d]
  const qkv = g.op('Gemm', [rows, L.weight(`${prefix}.to_qkv.weight`, [3 * d, d]), L.weight(`${prefix}.to_qkv.bias`)], { transB: 1 }); // [T·N, 3d]
  const T = L.dims(x.v, 2, 3);
  const qkv3 = g.op('Reshape', [qkv, g.op('Concat', [T, g.i64([-1, 3 * d])], { axis: 0 })]); // [T, N, 3d]
  const [q, k, v] = g.node('Split', [qkv3, g.i64([d, d, d])], { axis: 2 }, { outputs: 3 });
  const o = g.op('MultiHeadAttention', [q, k, v], { num_heads: 1, scale: float(1 / Math.sqrt(d)) }, { domain: 'com.microsoft' }); // [T, N, d]
  const p = g.op('Gemm', [g.op('Reshape', [o, g.i64([-1, d])]), L.weight(`${prefix}.proj.weight`, [d, d]), L.weight(`${prefix}.proj.bias`)], { transB: 1 });
  const back = g.op('Reshape', [g.op('Transpose', [p], { perm: [1, 0] }), L.dims(x.v, 0, 5)]); // [1, d, T, H, W]
  return { ...x, v: g.op('Add', [back, x.v]) };
}

function midBlock(L: VaeLayers, x: Act, prefix: string): Act {
  x = resBlock(L, x, `${prefix}.resnets.0`, x.c);
  x = attention(L, x, `${prefix}.attentions.0`);
  return resBlock(L, x, `${prefix}.resnets.1`, x.c);
}

/** [1, 3, F, pH, pW] → [1, 3p², F, H, W], channel c·p² + dx·p + dy. */
function patchify(L: VaeLayers, pix: string, p: number, t: number | null): Act {
  const g = L.g;
  if (p === 1) return { v: pix, c: 3, t, level: 0 };
  const hw = g.op('Div', [L.dims(pix, 3, 5), g.i64([p, p])]);
  const [h, w] = g.node('Split', [hw, g.i64([1, 1])], { axis: 0 }, { outputs: 2 });
  const f = L.dims(pix, 2, 3);
  const x7 = g.op('Reshape', [pix, g.op('Concat', [g.i64([1, 3]), f, h, g.i64([p]), w, g.i64([p])], { axis: 0 })]); // [1, 3, F, H, dy, W, dx]
  const t7 = g.op('Transpose', [x7], { perm: [0, 1, 6, 4, 2, 3, 5] }); // [1, 3, dx, dy, F, H, W]
  return { v: g.op('Reshape', [t7, g.op('Concat', [g.i64([1, 3 * p * p]), f, hw], { axis: 0 })]), c: 3 * p * p, t, level: 0 };
}

/** Inverse of patchify: [1, 3p², F, H, W] → [1, 3, F, pH, pW]. */
function unpatchify(L: VaeLayers, x: string, p: number): string {
  const g = L.g;
  if (p === 1) return x;
  const fhw = L.dims(x, 2, 5);
  const x7 = g.op('Reshape', [x, g.op('Concat', [g.i64([1, 3, p, p]), fhw], { axis: 0 })]); // [1, 3, dx, dy, F, H, W]
  const t7 = g.op('Transpose', [x7], { perm: [0, 1, 4, 5, 3, 6, 2] }); // [1, 3, F, H, dy, W, dx]
  const f = L.dims(x, 2, 3);
  return g.op('Reshape', [t7, g.op('Concat', [g.i64([1, 3]), f, g.op('Mul', [L.dims(x, 3, 5), g.i64([p, p])])], { axis: 0 })]);
}

/**
 * Encoder: pixels [1, 3, F, H, W] float32 (F = 1 in 'first' mode) → raw posterior mean [1, z, T, H/16, W/16]
 * float32 (mean half of quant_conv's moments; the log-variance is unused).
 */
export function encoderNet(L: VaeLayers, v: VaeDims, pix: string): string {
  const { enc, patch: p, zDim: z } = v;
  const n = enc.length - 1;
  const g = L.g;
  let x = patchify(L, L.toCompute(pix), p, L.mode === 'first' ? 1 : null); // [1, 3p², F, H/p, W/p]
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
  return L.toF32(g.op('Slice', [moments.v, g.i64([0]), g.i64([z]), g.i64([1])]));
}

/** Decoder: raw latent [1, z, T, h, w] float32 (T = 1 in 'first' mode) → pixels [1, 3, F, 16h, 16w] float32 in [-1, 1]. */
export function decoderNet(L: VaeLayers, v: VaeDims, latent: string): string {
  const { dec, patch: p, zDim: z } = v;
  const n = dec.length - 1;
  let x: Act = { v: L.toCompute(latent), c: z, t: L.mode === 'first' ? 1 : null, level: 0 };
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
  return L.g.op('Clip', [unpatchify(L, L.toF32(x.v), p), L.g.scalar(-1), L.g.scalar(1)]);
}
