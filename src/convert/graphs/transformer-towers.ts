import { OnnxDataType, type GraphBuilder } from '../onnx/index.js';
import type { TransformerConfig } from '../model-config.js';
import type { ComputeDtype, WeightTable } from '../weights.js';
import { Ops } from './ops.js';

/**
 * The two towers of the Cosmos3 mixture-of-transformers, shared by the single graph and the split
 * text / generator graphs (docs/graphs.md). Text rows never see generator rows, so the text tower only
 * yields each layer's K (after norm_k and RoPE) and V; the generator tower reads them from wherever the
 * caller got them (the same graph, or inputs fed from a cached `transformer_text` run).
 */

export interface TransformerVariant {
  readonly actions: boolean;
  readonly sound: boolean;
}

/** One layer's text keys/values in the compute dtype, [L, nKV, hd]; `*Rep` are the heads repeated to [1, L, nH*hd]. */
export interface TextKv {
  readonly k: string;
  readonly v: string;
  readonly kRep?: string;
  readonly vRep?: string;
}

/** The builder, weights and config-derived helpers every tower function works with. */
export class TowerContext {
  readonly o: Ops;
  readonly big: string;
  readonly zero: string;

  constructor(readonly g: GraphBuilder, weights: WeightTable, readonly cfg: TransformerConfig, readonly dtype: ComputeDtype) {
    this.o = new Ops(g, weights);
    this.zero = g.i64([0]);
    this.big = g.i64([2 ** 62]);
  }

  toCompute(x: string): string {
    return this.dtype === 'float32' ? x : this.o.cast(x, OnnxDataType[this.dtype]);
  }

  toF32(x: string): string {
    return this.dtype === 'float32' ? x : this.o.cast(x, OnnxDataType.float32);
  }

  /** [S, n*hd] → [S, n, hd] */
  heads(x: string, n: number): string {
    return this.o.reshape(x, this.g.i64([0, n, this.cfg.head_dim]));
  }

  /** Rotate-half RoPE on [S, n, hd] with cos/sin [S, 1, hd]. */
  rope(x: string, c: string, s: string): string {
    const hd = this.cfg.head_dim;
    const [x1, x2] = this.g.node('Split', [x, this.g.i64([hd / 2, hd / 2])], { axis: -1 }, { outputs: 2 });
    const rot = this.o.concat([this.g.op('Neg', [x2]), x1], -1);
    return this.g.op('Add', [this.g.op('Mul', [x, c]), this.g.op('Mul', [rot, s])]);
  }

  /** [S, nKV, hd] → [1, S, nH*hd]; q head h reads kv head h // rep. */
  repeatKv(x: string): string {
    const { num_attention_heads: nH, num_key_value_heads: nKV, head_dim: hd } = this.cfg;
    const rep = nH / nKV;
    return this.o.reshape(this.g.op('Expand', [this.o.unsqueeze(x, [2]), this.g.i64([1, 1, rep, 1])]), this.g.i64([1, -1, nH * hd]));
  }

  as3d(x: string): string {
    return this.o.reshape(x, this.g.i64([1, -1, this.cfg.num_attention_heads * this.cfg.head_dim]));
  }

  as2d(x: string): string {
    return this.o.reshape(x, this.g.i64([-1, this.cfg.hidden_size]));
  }

  mha(q: string, k: string, v: string, bias?: string): string {
    return this.g.op('MultiHeadAttention', bias ? [q, k, v, '', '', bias] : [q, k, v], { num_heads: this.cfg.num_attention_heads }, { domain: 'com.microsoft' });
  }

  /** cos/sin [N, 1, hd] in the compute dtype from float32 positions [3, N]. */
  rotary(positions: string): { cos: string; sin: string } {
    const { cos, sin } = rotaryTables(this.o, positions, this.cfg);
    return { cos: this.o.unsqueeze(this.toCompute(cos), [1]), sin: this.o.unsqueeze(this.toCompute(sin), [1]) };
  }
}

/**
 * The text ("und") tower over int64 ids [L] with rotary tables [L, 1, hd]: every layer's text K/V. The last
 * layer stops after K/V (its attention output and MLP feed nothing).
 */
export function textTower(c: TowerContext, inputIds: string, cos: string, sin: string): TextKv[] {
  const { g, o, cfg } = c;
  const eps = cfg.rms_norm_eps;
  const { num_attention_heads: nH, num_key_value_heads: nKV } = cfg;
  // causal bias [1, 1, L, L]
  const Ls = g.op('Squeeze', [o.dim(inputIds, 0), c.zero]);
  const idx = g.op('Range', [g.i64Scalar(0), Ls, g.i64Scalar(1)]);
  const future = g.op('Greater', [o.unsqueeze(idx, [0]), o.unsqueeze(idx, [1])]);
  const causal = c.toCompute(o.unsqueeze(g.op('Where', [future, g.scalar(-Infinity), g.scalar(0)]), [0, 1]));

  let und = g.op('Gather', [o.weight('embed_tokens.weight'), inputIds], { axis: 0 });
  const kv: TextKv[] = [];
  const layers = cfg.num_hidden_layers;
  for (let i = 0; i < layers; i++) {
    const pre = `layers.${i}.`;
    const at = `${pre}self_attn.`;
    const u = o.rmsNorm(und, `${pre}input_layernorm.weight`, eps);
    const k = c.rope(o.rmsNorm(c.heads(o.linear(u, `${at}to_k`, false), nKV), `${at}norm_k.weight`, eps), cos, sin);
    const v = c.heads(o.linear(u, `${at}to_v`, false), nKV);
    if (i === layers - 1) {
      kv.push({ k, v });
      break;
    }
    const kRep = c.repeatKv(k);
    const vRep = c.repeatKv(v);
    kv.push({ k, v, kRep, vRep });
    const q = c.rope(o.rmsNorm(c.heads(o.linear(u, `${at}to_q`, false), nH), `${at}norm_q.weight`, eps), cos, sin);
    const uo = c.mha(c.as3d(q), kRep, vRep, causal);
    und = g.op('Add', [und, o.linear(c.as2d(uo), `${at}to_out`, false)]);
    und = g.op('Add', [und, mlp(o, o.rmsNorm(und, `${pre}post_attention_layernorm.weight`, eps), `${pre}mlp`)]);
  }
  return kv;
}

/**
 * The generator tower: declares timestep, vision (and sound / action) inputs, reads each layer's text K/V
 * from `text`, and declares the velocity outputs. `positions` [3, seq_len] covers the joint sequence; only
 * its columns from `textLen` on (int64 [1]) are read.
 */
export function generatorTower(c: TowerContext, variant: TransformerVariant, positions: string, textLen: string, text: readonly TextKv[]): void {
  const { g, o, cfg } = c;
  const hid = cfg.hidden_size;
  const { num_attention_heads: nH, num_key_value_heads: nKV } = cfg;
  const C = cfg.latent_channel;
  const p = cfg.latent_patch_size;
  const eps = cfg.rms_norm_eps;
  const zero = c.zero;
  const big = c.big;

  const timestep = g.input('timestep', 'float32', [1]);
  const latents = g.input('vision_latents', 'float32', [1, C, 'latent_t', 'latent_h', 'latent_w']);
  const visionNoisy = g.input('vision_noisy', 'float32', ['latent_t']);
  const tembC = c.toCompute(timestepEmbedding(o, timestep, cfg.timestep_scale));

  // ---- vision rows: pad H/W to a multiple of p, patchify to [Nv, p*p*C] with features ordered (dy, dx, c)
  const T = o.dim(latents, 2);
  const H = o.dim(latents, 3);
  const W = o.dim(latents, 4);
  const P = g.i64([p]);
  const padTo = (d: string) => g.op('Mod', [g.op('Sub', [P, g.op('Mod', [d, P])]), P]);
  const padH = padTo(H);
  const padW = padTo(W);
  const pads = o.concat([g.i64([0, 0, 0, 0, 0]), g.i64([0, 0, 0]), padH, padW], 0);
  const padded = g.op('Pad', [latents, pads]);
  const hp = g.op('Div', [g.op('Add', [H, padH]), P]);
  const wp = g.op('Div', [g.op('Add', [W, padW]), P]);
  const patches6 = o.reshape(padded, o.concat([g.i64([C]), T, hp, P, wp, P], 0)); // [C, T, hp, dy, wp, dx]
  const patchesT = g.op('Transpose', [patches6], { perm: [1, 2, 4, 3, 5, 0] }); // [T, hp, wp, dy, dx, C]
  const patches = o.reshape(patchesT, g.i64([-1, p * p * C])); // [Nv, p*p*C]
  const Nv = o.dim(patches, 0);
  const visMask = o.reshape(
    g.op('Expand', [o.unsqueeze(visionNoisy, [1]), o.concat([T, g.op('Mul', [hp, wp])], 0)]),
    g.i64([-1, 1]),
  ); // [Nv, 1] float32
  let vis = o.linear(c.toCompute(patches), 'proj_in', true);
  vis = g.op('Add', [vis, g.op('Mul', [c.toCompute(visMask), tembC])]);
  const genParts = [vis];

  // ---- sound rows (columns of [sound_dim, S])
  let soundMask = '';
  if (variant.sound) {
    const sound = g.input('sound_tokens', 'float32', [cfg.sound_dim!, 'sound_len']);
    const soundNoisy = g.input('sound_noisy', 'float32', ['sound_len']);
    soundMask = o.unsqueeze(soundNoisy, [1]);
    let s = o.linear(c.toCompute(g.op('Transpose', [sound], { perm: [1, 0] })), 'audio_proj_in', true);
    s = g.op('Add', [s, o.weight('audio_modality_embed')]);
    s = g.op('Add', [s, g.op('Mul', [c.toCompute(soundMask), tembC])]);
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
    let a = g.op('Add', [g.op('MatMul', [c.toCompute(act), wIn]), bIn]);
    a = g.op('Add', [a, o.weight('action_modality_embed')]);
    a = g.op('Add', [a, g.op('Mul', [c.toCompute(actMask), tembC])]);
    genParts.push(a);
  }
  let gen = genParts.length === 1 ? genParts[0] : o.concat(genParts, 0);

  // ---- rotary tables of the generator columns
  const { cos, sin } = c.rotary(o.slice(positions, textLen, big, 1));

  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const pre = `layers.${i}.`;
    const at = `${pre}self_attn.`;
    const t = text[i];
    const gn = o.rmsNorm(gen, `${pre}input_layernorm_moe_gen.weight`, eps);
    const q = c.rope(o.rmsNorm(c.heads(o.linear(gn, `${at}add_q_proj`, false), nH), `${at}norm_added_q.weight`, eps), cos, sin);
    const k = c.rope(o.rmsNorm(c.heads(o.linear(gn, `${at}add_k_proj`, false), nKV), `${at}norm_added_k.weight`, eps), cos, sin);
    const v = c.heads(o.linear(gn, `${at}add_v_proj`, false), nKV);
    const keys = o.concat([t.kRep ?? c.repeatKv(t.k), c.repeatKv(k)], 1);
    const values = o.concat([t.vRep ?? c.repeatKv(t.v), c.repeatKv(v)], 1);
    const go = c.mha(c.as3d(q), keys, values);
    gen = g.op('Add', [gen, o.linear(c.as2d(go), `${at}to_add_out`, false)]);
    gen = g.op('Add', [gen, mlp(o, o.rmsNorm(gen, `${pre}post_attention_layernorm_moe_gen.weight`, eps), `${pre}mlp_moe_gen`)]);
  }
  const out = o.rmsNorm(gen, 'norm_moe_gen.weight', eps);

  // ---- vision velocity: proj_out, zero on clean frames, un-patchify, crop the padding
  const visOut = o.slice(out, zero, Nv, 0);
  const vel = g.op('Mul', [c.toF32(o.linear(visOut, 'proj_out', true)), visMask]);
  const v6 = o.reshape(vel, o.concat([T, hp, wp, P, P, g.i64([C])], 0)); // [T, hp, wp, dy, dx, C]
  const vT = g.op('Transpose', [v6], { perm: [5, 0, 1, 3, 2, 4] }); // [C, T, hp, dy, wp, dx]
  const vFull = o.reshape(vT, o.concat([g.i64([1, C]), T, g.op('Mul', [hp, P]), g.op('Mul', [wp, P])], 0));
  const vCrop = g.op('Slice', [vFull, g.i64([0, 0]), o.concat([H, W], 0), g.i64([3, 4])]);
  g.output(vCrop, 'vision_velocity', 'float32', [1, C, 'latent_t', 'latent_h', 'latent_w']);

  let row = Nv;
  if (variant.sound) {
    const end = g.op('Add', [row, o.dim(soundMask, 0)]);
    const s = g.op('Mul', [c.toF32(o.linear(o.slice(out, row, end, 0), 'audio_proj_out', true)), soundMask]);
    g.output(g.op('Transpose', [s], { perm: [1, 0] }), 'sound_velocity', 'float32', [cfg.sound_dim!, 'sound_len']);
    row = end;
  }
  if (variant.actions) {
    const wOut = o.reshape(g.op('Gather', [o.weight('action_proj_out.fc.weight'), domain], { axis: 0 }), g.i64([hid, da]));
    const bOut = g.op('Gather', [o.weight('action_proj_out.bias.weight'), domain], { axis: 0 });
    const a = g.op('Add', [g.op('MatMul', [o.slice(out, row, big, 0), wOut]), bOut]);
    g.output(g.op('Mul', [c.toF32(a), actMask]), 'action_velocity', 'float32', ['action_len', da]);
  }
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
