import { GraphBuilder, OnnxDataType, type Dim, type OnnxDtype } from '../onnx/index.js';
import type { TransformerConfig } from '../model-config.js';
import type { ComputeDtype, WeightSpec, WeightTable } from '../weights.js';
import { Ops } from './ops.js';

/**
 * The Cosmos3 mixture-of-transformers denoiser as one ONNX graph (docs/graphs.md). Text rows use the
 * reasoner ("und") weights and attend causally to text; generator rows (vision patches, then sound, then
 * actions) use the generator weights and attend to [text ; generator]. Graph I/O is float32; the compute
 * dtype is chosen at conversion, casts sit inside the graph.
 */

export interface TransformerVariant {
  readonly actions: boolean;
  readonly sound: boolean;
}

export const TRANSFORMER_OPSETS = { '': 23, 'com.microsoft': 1 } as const;

/** Every checkpoint tensor the graph reads, with its expected shape. */
export function transformerWeightSpecs(cfg: TransformerConfig): WeightSpec[] {
  const hid = cfg.hidden_size;
  const hd = cfg.head_dim;
  const q = cfg.num_attention_heads * hd;
  const kv = cfg.num_key_value_heads * hd;
  const ff = cfg.intermediate_size;
  const patch = cfg.latent_channel * cfg.latent_patch_size ** 2;
  const c = (name: string, ...shape: number[]): WeightSpec => ({ name, shape, role: 'compute' });
  const f = (name: string, ...shape: number[]): WeightSpec => ({ name, shape, role: 'float32' });
  const specs: WeightSpec[] = [
    c('embed_tokens.weight', cfg.vocab_size, hid),
    c('proj_in.weight', hid, patch), c('proj_in.bias', hid),
    c('proj_out.weight', patch, hid), c('proj_out.bias', patch),
    c('norm_moe_gen.weight', hid),
  ];
  const tIn = 256;
  specs.push(f('time_embedder.linear_1.weight', hid, tIn), f('time_embedder.linear_1.bias', hid));
  specs.push(f('time_embedder.linear_2.weight', hid, hid), f('time_embedder.linear_2.bias', hid));
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `layers.${i}.`;
    const a = `${p}self_attn.`;
    specs.push(
      c(`${p}input_layernorm.weight`, hid), c(`${p}input_layernorm_moe_gen.weight`, hid),
      c(`${p}post_attention_layernorm.weight`, hid), c(`${p}post_attention_layernorm_moe_gen.weight`, hid),
      c(`${a}to_q.weight`, q, hid), c(`${a}to_k.weight`, kv, hid), c(`${a}to_v.weight`, kv, hid), c(`${a}to_out.weight`, hid, q),
      c(`${a}add_q_proj.weight`, q, hid), c(`${a}add_k_proj.weight`, kv, hid), c(`${a}add_v_proj.weight`, kv, hid), c(`${a}to_add_out.weight`, hid, q),
      c(`${a}norm_q.weight`, hd), c(`${a}norm_k.weight`, hd), c(`${a}norm_added_q.weight`, hd), c(`${a}norm_added_k.weight`, hd),
    );
    for (const m of ['mlp', 'mlp_moe_gen']) {
      specs.push(c(`${p}${m}.gate_proj.weight`, ff, hid), c(`${p}${m}.up_proj.weight`, ff, hid), c(`${p}${m}.down_proj.weight`, hid, ff));
    }
  }
  if (cfg.action_gen) {
    const da = cfg.action_dim!;
    const nd = cfg.num_embodiment_domains!;
    specs.push(
      c('action_proj_in.fc.weight', nd, da * hid), c('action_proj_in.bias.weight', nd, hid),
      c('action_proj_out.fc.weight', nd, hid * da), c('action_proj_out.bias.weight', nd, da),
      c('action_modality_embed', hid),
    );
  }
  if (cfg.sound_gen) {
    const ds = cfg.sound_dim!;
    specs.push(
      c('audio_proj_in.weight', hid, ds), c('audio_proj_in.bias', hid),
      c('audio_proj_out.weight', ds, hid), c('audio_proj_out.bias', ds),
      c('audio_modality_embed', hid),
    );
  }
  return specs;
}

export interface GraphIo {
  readonly name: string;
  readonly dtype: OnnxDtype;
  readonly dims: readonly Dim[];
}

/** Build one transformer variant; returns the builder (serialize it with TRANSFORMER_OPSETS). */
export function buildTransformerGraph(cfg: TransformerConfig, weights: WeightTable, dtype: ComputeDtype, variant: TransformerVariant): GraphBuilder {
  const g = new GraphBuilder(`cosmos3_transformer${variant.actions ? '_action' : ''}${variant.sound ? '_sound' : ''}`);
  const o = new Ops(g, weights);
  const cd = OnnxDataType[dtype];
  const f32 = OnnxDataType.float32;
  const toCompute = (x: string) => (dtype === 'float32' ? x : o.cast(x, cd));
  const toF32 = (x: string) => (dtype === 'float32' ? x : o.cast(x, f32));
  const hid = cfg.hidden_size;
  const hd = cfg.head_dim;
  const nH = cfg.num_attention_heads;
  const nKV = cfg.num_key_value_heads;
  const C = cfg.latent_channel;
  const p = cfg.latent_patch_size;
  const eps = cfg.rms_norm_eps;

  // ---- inputs
  const inputIds = g.input('input_ids', 'int64', ['text_len']);
  const positions = g.input('positions', 'float32', [3, 'seq_len']);
  const timestep = g.input('timestep', 'float32', [1]);
  const latents = g.input('vision_latents', 'float32', [1, C, 'latent_t', 'latent_h', 'latent_w']);
  const visionNoisy = g.input('vision_noisy', 'float32', ['latent_t']);
  const temb = timestepEmbedding(o, timestep, cfg.timestep_scale);
  const tembC = toCompute(temb);

  // ---- text rows
  const und0 = g.op('Gather', [o.weight('embed_tokens.weight'), inputIds], { axis: 0 });
  const L = o.dim(inputIds, 0);

  // ---- vision rows: pad H/W to a multiple of p, patchify to [Nv, p*p*C] with features ordered (dy, dx, c)
  const T = o.dim(latents, 2);
  const H = o.dim(latents, 3);
  const W = o.dim(latents, 4);
  const P = g.i64([p]);
  const padTo = (d: string) => g.op('Mod', [g.op('Sub', [P, g.op('Mod', [d, P])]), P]);
  const padH = padTo(H);
  const padW = padTo(W);
  const zeros3 = g.i64([0, 0, 0]);
  const pads = o.concat([g.i64([0, 0, 0, 0, 0]), zeros3, padH, padW], 0);
  const padded = g.op('Pad', [latents, pads]);
  const hp = g.op('Div', [g.op('Add', [H, padH]), P]);
  const wp = g.op('Div', [g.op('Add', [W, padW]), P]);
  const grid6 = o.concat([g.i64([C]), T, hp, P, wp, P], 0);
  const patches6 = o.reshape(padded, grid6); // [C, T, hp, dy, wp, dx]
  const patchesT = g.op('Transpose', [patches6], { perm: [1, 2, 4, 3, 5, 0] }); // [T, hp, wp, dy, dx, C]
  const patches = o.reshape(patchesT, g.i64([-1, p * p * C])); // [Nv, p*p*C]
  const Nv = o.dim(patches, 0);
  const tokensPerFrame = g.op('Mul', [hp, wp]);
  const visMask = o.reshape(
    g.op('Expand', [o.unsqueeze(visionNoisy, [1]), o.concat([T, tokensPerFrame], 0)]),
    g.i64([-1, 1]),
  ); // [Nv, 1] float32
  let vis = o.linear(toCompute(patches), 'proj_in', true);
  vis = g.op('Add', [vis, g.op('Mul', [toCompute(visMask), tembC])]);
  const genParts = [vis];

  // ---- sound rows (columns of [sound_dim, S])
  let soundMask = '';
  if (variant.sound) {
    const sound = g.input('sound_tokens', 'float32', [cfg.sound_dim!, 'sound_len']);
    const soundNoisy = g.input('sound_noisy', 'float32', ['sound_len']);
    soundMask = o.unsqueeze(soundNoisy, [1]);
    let s = o.linear(toCompute(g.op('Transpose', [sound], { perm: [1, 0] })), 'audio_proj_in', true);
    s = g.op('Add', [s, o.weight('audio_modality_embed')]);
    s = g.op('Add', [s, g.op('Mul', [toCompute(soundMask), tembC])]);
    genParts.push(s);
  }

  // ---- action rows: per-domain linear (weight table row `domain_id` reshaped [in, out])
  let actMask = '';
  let domain = '';
  const da = cfg.action_dim ?? 0;
  if (variant.actions) {
    const act = g.input('action_tokens', 'float32', ['action_len', da]);
    const actNoisy = g.input('action_noisy', 'float32', ['action_len']);
    domain = g.input('domain_id', 'int64', [1]);
    actMask = o.unsqueeze(actNoisy, [1]);
    const wIn = o.reshape(g.op('Gather', [o.weight('action_proj_in.fc.weight'), domain], { axis: 0 }), g.i64([da, hid]));
    const bIn = g.op('Gather', [o.weight('action_proj_in.bias.weight'), domain], { axis: 0 }); // [1, hid]
    let a = g.op('Add', [g.op('MatMul', [toCompute(act), wIn]), bIn]);
    a = g.op('Add', [a, o.weight('action_modality_embed')]);
    a = g.op('Add', [a, g.op('Mul', [toCompute(actMask), tembC])]);
    genParts.push(a);
  }
  const gen0 = genParts.length === 1 ? genParts[0] : o.concat(genParts, 0);

  // ---- rotary tables from float32 positions: interleaved mRoPE sections [T, H, W]
  const { cos, sin } = rotaryTables(o, positions, cfg);
  const cosC = toCompute(cos);
  const sinC = toCompute(sin);
  const zero = g.i64([0]);
  const big = g.i64([2 ** 62]);
  const cosU = o.unsqueeze(o.slice(cosC, zero, L, 0), [1]);
  const sinU = o.unsqueeze(o.slice(sinC, zero, L, 0), [1]);
  const cosG = o.unsqueeze(o.slice(cosC, L, big, 0), [1]);
  const sinG = o.unsqueeze(o.slice(sinC, L, big, 0), [1]);

  // ---- causal bias for the text stream [1, 1, L, L]
  const Ls = g.op('Squeeze', [L, zero]);
  const idx = g.op('Range', [g.i64Scalar(0), Ls, g.i64Scalar(1)]);
  const future = g.op('Greater', [o.unsqueeze(idx, [0]), o.unsqueeze(idx, [1])]);
  const causal = toCompute(o.unsqueeze(g.op('Where', [future, g.scalar(-Infinity), g.scalar(0)]), [0, 1]));

  const heads = (x: string, n: number) => o.reshape(x, g.i64([0, n, hd])); // [S, n, hd]
  const rope = (x: string, c: string, s: string) => {
    const [x1, x2] = g.node('Split', [x, g.i64([hd / 2, hd / 2])], { axis: -1 }, { outputs: 2 });
    const rot = o.concat([g.op('Neg', [x2]), x1], -1);
    return g.op('Add', [g.op('Mul', [x, c]), g.op('Mul', [rot, s])]);
  };
  const rep = nH / nKV;
  const repeatKv = (x: string) => // [S, nKV, hd] → [1, S, nH*hd], q head h reads kv head h // rep
    o.reshape(g.op('Expand', [o.unsqueeze(x, [2]), g.i64([1, 1, rep, 1])]), g.i64([1, -1, nH * hd]));
  const as3d = (x: string) => o.reshape(x, g.i64([1, -1, nH * hd]));
  const as2d = (x: string) => o.reshape(x, g.i64([-1, hid]));
  const mha = (q: string, k: string, v: string, bias?: string) =>
    g.op('MultiHeadAttention', bias ? [q, k, v, '', '', bias] : [q, k, v], { num_heads: nH }, { domain: 'com.microsoft' });

  let und = und0;
  let gen = gen0;
  const layers = cfg.num_hidden_layers;
  for (let i = 0; i < layers; i++) {
    const pre = `layers.${i}.`;
    const at = `${pre}self_attn.`;
    const last = i === layers - 1;
    const u = o.rmsNorm(und, `${pre}input_layernorm.weight`, eps);
    const gn = o.rmsNorm(gen, `${pre}input_layernorm_moe_gen.weight`, eps);
    const uk = rope(o.rmsNorm(heads(o.linear(u, `${at}to_k`, false), nKV), `${at}norm_k.weight`, eps), cosU, sinU);
    const uv = heads(o.linear(u, `${at}to_v`, false), nKV);
    const gq = rope(o.rmsNorm(heads(o.linear(gn, `${at}add_q_proj`, false), nH), `${at}norm_added_q.weight`, eps), cosG, sinG);
    const gk = rope(o.rmsNorm(heads(o.linear(gn, `${at}add_k_proj`, false), nKV), `${at}norm_added_k.weight`, eps), cosG, sinG);
    const gv = heads(o.linear(gn, `${at}add_v_proj`, false), nKV);
    const ukR = repeatKv(uk);
    const uvR = repeatKv(uv);
    const go = mha(as3d(gq), o.concat([ukR, repeatKv(gk)], 1), o.concat([uvR, repeatKv(gv)], 1));
    gen = g.op('Add', [gen, o.linear(as2d(go), `${at}to_add_out`, false)]);
    gen = g.op('Add', [gen, mlp(o, o.rmsNorm(gen, `${pre}post_attention_layernorm_moe_gen.weight`, eps), `${pre}mlp_moe_gen`)]);
    if (!last) {
      // the text stream's outputs after the last layer feed nothing the generator reads
      const uq = rope(o.rmsNorm(heads(o.linear(u, `${at}to_q`, false), nH), `${at}norm_q.weight`, eps), cosU, sinU);
      const uo = mha(as3d(uq), ukR, uvR, causal);
      und = g.op('Add', [und, o.linear(as2d(uo), `${at}to_out`, false)]);
      und = g.op('Add', [und, mlp(o, o.rmsNorm(und, `${pre}post_attention_layernorm.weight`, eps), `${pre}mlp`)]);
    }
  }
  const out = o.rmsNorm(gen, 'norm_moe_gen.weight', eps);

  // ---- vision velocity: proj_out, zero on clean frames, un-patchify, crop the padding
  const visOut = o.slice(out, zero, Nv, 0);
  const v = g.op('Mul', [toF32(o.linear(visOut, 'proj_out', true)), visMask]);
  const v6 = o.reshape(v, o.concat([T, hp, wp, P, P, g.i64([C])], 0)); // [T, hp, wp, dy, dx, C]
  const vT = g.op('Transpose', [v6], { perm: [5, 0, 1, 3, 2, 4] }); // [C, T, hp, dy, wp, dx]
  const vFull = o.reshape(vT, o.concat([g.i64([1, C]), T, g.op('Mul', [hp, P]), g.op('Mul', [wp, P])], 0));
  const vCrop = g.op('Slice', [vFull, g.i64([0, 0]), o.concat([H, W], 0), g.i64([3, 4])]);
  g.output(vCrop, 'vision_velocity', 'float32', [1, C, 'latent_t', 'latent_h', 'latent_w']);

  let row = Nv;
  if (variant.sound) {
    const S = o.dim(soundMask, 0);
    const end = g.op('Add', [row, S]);
    const s = g.op('Mul', [toF32(o.linear(o.slice(out, row, end, 0), 'audio_proj_out', true)), soundMask]);
    g.output(g.op('Transpose', [s], { perm: [1, 0] }), 'sound_velocity', 'float32', [cfg.sound_dim!, 'sound_len']);
    row = end;
  }
  if (variant.actions) {
    const wOut = o.reshape(g.op('Gather', [o.weight('action_proj_out.fc.weight'), domain], { axis: 0 }), g.i64([hid, da]));
    const bOut = g.op('Gather', [o.weight('action_proj_out.bias.weight'), domain], { axis: 0 });
    const a = g.op('Add', [g.op('MatMul', [o.slice(out, row, big, 0), wOut]), bOut]);
    g.output(g.op('Mul', [toF32(a), actMask]), 'action_velocity', 'float32', ['action_len', da]);
  }
  return g;
}

function mlp(o: Ops, x: string, prefix: string): string {
  const gate = o.silu(o.linear(x, `${prefix}.gate_proj`, false));
  const up = o.linear(x, `${prefix}.up_proj`, false);
  return o.linear(o.g.op('Mul', [gate, up]), `${prefix}.down_proj`, false);
}

/** Sinusoidal timestep embedding [cos, sin] of t·scale, then linear–SiLU–linear, all in float32: [1, hidden]. */
function timestepEmbedding(o: Ops, timestep: string, scale: number): string {
  const g = o.g;
  const half = 128;
  const freqs = Float32Array.from({ length: half }, (_, k) => Math.exp((-Math.log(10000) * k) / half));
  const s = g.op('Mul', [timestep, g.scalar(scale)]);
  const args = g.op('Mul', [o.unsqueeze(s, [1]), g.constant(freqs, 'float32', [1, half])]);
  const e = o.concat([g.op('Cos', [args]), g.op('Sin', [args])], 1);
  const h = o.silu(o.linear(e, 'time_embedder.linear_1', true));
  return o.linear(h, 'time_embedder.linear_2', true);
}

/** cos/sin tables [N, head_dim] in float32 from positions [3, N] (interleaved mRoPE). */
function rotaryTables(o: Ops, positions: string, cfg: TransformerConfig): { cos: string; sin: string } {
  const g = o.g;
  const hd = cfg.head_dim;
  const nf = hd / 2;
  const [, nH, nW] = cfg.rope_axes_dim;
  const inv = new Float32Array(nf);
  const axis: number[] = [];
  for (let j = 0; j < nf; j++) {
    inv[j] = Math.fround(1 / Math.fround(cfg.rope_theta ** Math.fround((2 * j) / hd)));
    axis.push(j % 3 === 1 && j < 3 * nH ? 1 : j % 3 === 2 && j < 3 * nW ? 2 : 0);
  }
  const perFreq = g.op('Gather', [positions, g.i64(axis)], { axis: 0 }); // [nf, N]
  const angles = g.op('Mul', [g.op('Transpose', [perFreq], { perm: [1, 0] }), g.constant(inv, 'float32', [nf])]); // [N, nf]
  const full = o.concat([angles, angles], 1);
  return { cos: g.op('Cos', [full]), sin: g.op('Sin', [full]) };
}

export function transformerIo(g: GraphBuilder): { inputs: GraphIo[]; outputs: GraphIo[] } {
  return { inputs: [...g.inputs], outputs: [...g.outputs] };
}
