import { float, OnnxDataType, type Dim, type GraphBuilder } from '../onnx/index.js';
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

/** How the converter spells the transformer's elementwise blocks (docs/graphs.md, "Fused kernels"). */
export interface TransformerGraphOptions {
  /**
   * true: RoPE as ONNX RotaryEmbedding, SiLU as com.microsoft QuickGelu (alpha 1), each residual add with the
   * RMSNorm after it as com.microsoft SkipSimplifiedLayerNormalization: one kernel each on the CUDA EP (bf16
   * included). false: the same math spelled with elementwise ops (Split/Neg/Concat/Mul/Add, Sigmoid/Mul,
   * Add + RMSNormalization), kept as the baseline the GPU benchmark measures the fused graph against.
   */
  readonly fused: boolean;
}

export const DEFAULT_TRANSFORMER_GRAPH_OPTIONS: TransformerGraphOptions = { fused: true };

/** One layer's text keys (after norm_k and RoPE) and values in the compute dtype, [1, L, nKV*hd]. */
export interface TextKv {
  readonly k: string;
  readonly v: string;
}

/**
 * Rotary tables in the compute dtype. Fused: [N, hd/2] tables with `ids` = [[0, 1, …, N−1]] (each token reads
 * its own row: mRoPE positions are per token, not one index); otherwise [N, 1, hd] (halves repeated).
 */
export interface Rotary {
  readonly cos: string;
  readonly sin: string;
  readonly ids?: string;
}

/** The builder, weights and config-derived helpers every tower function works with. */
export class TowerContext {
  readonly o: Ops;
  readonly big: string;
  readonly zero: string;

  constructor(
    readonly g: GraphBuilder,
    weights: WeightTable,
    readonly cfg: TransformerConfig,
    readonly dtype: ComputeDtype,
    readonly opts: TransformerGraphOptions = DEFAULT_TRANSFORMER_GRAPH_OPTIONS,
  ) {
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

  /** [..., n, hd] → [1, S, n*hd] */
  flat(x: string, n: number): string {
    return this.o.reshape(x, this.g.i64([1, -1, n * this.cfg.head_dim]));
  }

  /** A q/k projection: linear, per-head RMSNorm, RoPE; [S, hidden] → [1, S, n*hd]. */
  projectRoped(x: string, prefix: string, normWeight: string, n: number, r: Rotary): string {
    const normed = this.o.rmsNorm(this.heads(this.o.linear(x, prefix, false), n), normWeight, this.cfg.rms_norm_eps);
    if (this.opts.fused) {
      return this.g.op('RotaryEmbedding', [this.flat(normed, n), r.cos, r.sin, r.ids!], { num_heads: n, interleaved: 0 });
    }
    const hd = this.cfg.head_dim;
    const [x1, x2] = this.g.node('Split', [normed, this.g.i64([hd / 2, hd / 2])], { axis: -1 }, { outputs: 2 });
    const rot = this.o.concat([this.g.op('Neg', [x2]), x1], -1);
    return this.flat(this.g.op('Add', [this.g.op('Mul', [normed, r.cos]), this.g.op('Mul', [rot, r.sin])]), n);
  }

  /** A value projection: [S, hidden] → [1, S, nKV*hd]. */
  projectValue(x: string, prefix: string): string {
    return this.flat(this.o.linear(x, prefix, false), this.cfg.num_key_value_heads);
  }

  /** [1, S, nKV*hd] → [1, S, nH*hd]; q head h reads kv head h // rep. */
  repeatKv(x: string): string {
    const { num_attention_heads: nH, num_key_value_heads: nKV, head_dim: hd } = this.cfg;
    const kv4 = this.o.reshape(x, this.g.i64([-1, nKV, 1, hd]));
    return this.flat(this.g.op('Expand', [kv4, this.g.i64([1, 1, nH / nKV, 1])]), nH);
  }

  /** Attention output [1, S, nH*hd] → [S, nH*hd] (the output projection's input; nH·hd need not be the hidden size). */
  as2d(x: string): string {
    return this.o.reshape(x, this.g.i64([-1, this.cfg.num_attention_heads * this.cfg.head_dim]));
  }

  mha(q: string, k: string, v: string, bias?: string): string {
    return this.g.op('MultiHeadAttention', bias ? [q, k, v, '', '', bias] : [q, k, v], { num_heads: this.cfg.num_attention_heads }, { domain: 'com.microsoft' });
  }

  norm(x: string, weight: string): string {
    return this.o.rmsNorm(x, weight, this.cfg.rms_norm_eps);
  }

  /** The residual add and the RMSNorm after it: returns [normed, residual + branch]. */
  addNorm(residual: string, branch: string, weight: string): [string, string] {
    if (!this.opts.fused) {
      const sum = this.g.op('Add', [residual, branch]);
      return [this.norm(sum, weight), sum];
    }
    const y = this.g.fresh('skipnorm');
    const sum = this.g.fresh('residual');
    this.g.node('SkipSimplifiedLayerNormalization', [branch, residual, this.o.weight(weight)], { epsilon: float(this.cfg.rms_norm_eps) }, {
      domain: 'com.microsoft',
      outputNames: [y, '', '', sum],
    });
    return [y, sum];
  }

  /** SwiGLU MLP on [S, hidden]. */
  mlp(x: string, prefix: string): string {
    const o = this.o;
    const g = o.linear(x, `${prefix}.gate_proj`, false);
    const gate = this.opts.fused ? this.g.op('QuickGelu', [g], { alpha: float(1) }, { domain: 'com.microsoft' }) : o.silu(g);
    return o.linear(this.g.op('Mul', [gate, o.linear(x, `${prefix}.up_proj`, false)]), `${prefix}.down_proj`, false);
  }

  /** Rotary tables in the compute dtype from float32 positions [3, N] (several: their columns one after another). */
  rotary(positions: string | readonly string[]): Rotary {
    const list = typeof positions === 'string' ? [positions] : positions;
    const each = list.map((p) => rotaryAngles(this.o, p, this.cfg)); // [N, hd/2] each
    const angles = each.length === 1 ? each[0] : this.o.concat(each, 0);
    if (this.opts.fused) {
      const n = this.g.op('Squeeze', [this.o.dim(angles, 0), this.zero]);
      const ids = this.o.unsqueeze(this.g.op('Range', [this.g.i64Scalar(0), n, this.g.i64Scalar(1)]), [0]);
      const table = (op: string) => this.toCompute(this.g.op(op, [angles]));
      return { cos: table('Cos'), sin: table('Sin'), ids };
    }
    const full = this.o.concat([angles, angles], 1);
    const table = (op: string) => this.o.unsqueeze(this.toCompute(this.g.op(op, [full])), [1]);
    return { cos: table('Cos'), sin: table('Sin') };
  }
}

/**
 * The text ("und") tower over int64 ids [L] with its rotary tables: every layer's text K/V. The last layer
 * stops after K/V (its attention output and MLP feed nothing).
 */
export function textTower(c: TowerContext, inputIds: string, r: Rotary): TextKv[] {
  const { g, o, cfg } = c;
  const { num_attention_heads: nH, num_key_value_heads: nKV } = cfg;
  // causal bias [1, 1, L, L]
  const Ls = g.op('Squeeze', [o.dim(inputIds, 0), c.zero]);
  const idx = g.op('Range', [g.i64Scalar(0), Ls, g.i64Scalar(1)]);
  const future = g.op('Greater', [o.unsqueeze(idx, [0]), o.unsqueeze(idx, [1])]);
  const causal = c.toCompute(o.unsqueeze(g.op('Where', [future, g.scalar(-Infinity), g.scalar(0)]), [0, 1]));

  let und = g.op('Gather', [o.weight('embed_tokens.weight'), inputIds], { axis: 0 });
  let h = c.norm(und, 'layers.0.input_layernorm.weight');
  const kv: TextKv[] = [];
  const layers = cfg.num_hidden_layers;
  for (let i = 0; i < layers; i++) {
    const pre = `layers.${i}.`;
    const at = `${pre}self_attn.`;
    const k = c.projectRoped(h, `${at}to_k`, `${at}norm_k.weight`, nKV, r);
    const v = c.projectValue(h, `${at}to_v`);
    kv.push({ k, v });
    if (i === layers - 1) break;
    const q = c.projectRoped(h, `${at}to_q`, `${at}norm_q.weight`, nH, r);
    const uo = c.mha(q, c.repeatKv(k), c.repeatKv(v), causal);
    [h, und] = c.addNorm(und, o.linear(c.as2d(uo), `${at}to_out`, false), `${pre}post_attention_layernorm.weight`);
    [h, und] = c.addNorm(und, c.mlp(h, `${pre}mlp`), `layers.${i + 1}.input_layernorm.weight`);
  }
  return kv;
}

/** One conditioning of the generator rows: its joint positions, text length and per-layer text K/V. */
export interface GenPass {
  /** [3, seq_len] positions of this pass's joint sequence; only its columns from `textLen` on are read. */
  readonly positions: string;
  /** int64 [1]. */
  readonly textLen: string;
  readonly text: readonly TextKv[];
  /** Prefix of this pass's output names ('' for the first). */
  readonly outputPrefix: string;
}

/** The generator tower's graph inputs (value names in the graph that declared them). */
export interface GenInputs {
  readonly timestep: string;
  readonly latents: string;
  readonly visionNoisy: string;
  readonly sound?: { readonly tokens: string; readonly noisy: string };
  readonly action?: { readonly tokens: string; readonly noisy: string; readonly domain: string };
}

/** Declares the generator inputs of `variant` on `g`: timestep, vision (and sound / action) rows. */
export function declareGeneratorInputs(g: GraphBuilder, cfg: TransformerConfig, variant: TransformerVariant): GenInputs {
  const C = cfg.latent_channel;
  return {
    timestep: g.input('timestep', 'float32', [1]),
    latents: g.input('vision_latents', 'float32', [1, C, 'latent_t', 'latent_h', 'latent_w']),
    visionNoisy: g.input('vision_noisy', 'float32', ['latent_t']),
    ...(variant.sound ? {
      sound: { tokens: g.input('sound_tokens', 'float32', [cfg.sound_dim!, 'sound_len']), noisy: g.input('sound_noisy', 'float32', ['sound_len']) },
    } : {}),
    ...(variant.actions ? {
      action: {
        tokens: g.input('action_tokens', 'float32', ['action_len', cfg.action_dim ?? 0]),
        noisy: g.input('action_noisy', 'float32', ['action_len']),
        domain: g.input('domain_id', 'int64', [1]),
      },
    } : {}),
  };
}

/** Where the tower's float32 outputs go: graph outputs by default; an If branch collects them instead. */
export type GenEmit = (value: string, name: string, dims: readonly Dim[]) => void;

/**
 * The generator tower over `inputs` (declared by the caller, `declareGeneratorInputs`), emitting the velocity
 * outputs through `emit` (graph outputs by default).
 * With one pass it is the denoiser forward. With two (vision only) it runs both classifier-free-guidance
 * passes of a step at once: the generator rows are the same for both (same latent, same timestep), so they
 * are built once and stacked; every per-token op (projections, norms, MLP) runs on the stacked rows, and only
 * attention is per pass, each pass's rows over its own [text K/V ; generator K/V]. Outputs per pass,
 * prefixed `outputPrefix`.
 */
export function generatorTower(
  c: TowerContext, variant: TransformerVariant, passes: readonly GenPass[],
  inputs: GenInputs = declareGeneratorInputs(c.g, c.cfg, variant),
  emit: GenEmit = (value, name, dims) => c.g.output(value, name, 'float32', dims),
): void {
  if (passes.length === 0 || (passes.length > 1 && (variant.actions || variant.sound))) {
    throw new Error('generatorTower: one pass, or several for the vision-only variant');
  }
  const { g, o, cfg } = c;
  const hid = cfg.hidden_size;
  const { num_attention_heads: nH, num_key_value_heads: nKV } = cfg;
  const C = cfg.latent_channel;
  const p = cfg.latent_patch_size;
  const zero = c.zero;
  const big = c.big;

  const { timestep, latents, visionNoisy } = inputs;
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
    const { tokens: sound, noisy: soundNoisy } = inputs.sound!;
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
    const { tokens: act, noisy: actNoisy } = inputs.action!;
    domain = inputs.action!.domain;
    actMask = o.unsqueeze(actNoisy, [1]);
    const wIn = o.reshape(g.op('Gather', [o.weight('action_proj_in.fc.weight'), domain], { axis: 0 }), g.i64([da, hid]));
    const bIn = g.op('Gather', [o.weight('action_proj_in.bias.weight'), domain], { axis: 0 }); // [1, hid]
    let a = g.op('Add', [g.op('MatMul', [c.toCompute(act), wIn]), bIn]);
    a = g.op('Add', [a, o.weight('action_modality_embed')]);
    a = g.op('Add', [a, g.op('Mul', [c.toCompute(actMask), tembC])]);
    genParts.push(a);
  }
  const rows = genParts.length === 1 ? genParts[0] : o.concat(genParts, 0);
  const nPass = passes.length;
  let gen = nPass === 1 ? rows : o.concat(passes.map(() => rows), 0); // [nPass·S, hidden]

  // ---- rotary tables of the generator columns, pass after pass
  const r = c.rotary(passes.map((ps) => o.slice(ps.positions, ps.textLen, big, 1)));
  /** [1, nPass·S, n·hd] → one [1, S, n·hd] per pass. */
  const perPass = (x: string): string[] => (nPass === 1 ? [x] : g.node('Split', [x], { axis: 1, num_outputs: nPass }, { outputs: nPass }));

  const layers = cfg.num_hidden_layers;
  let h = c.norm(gen, 'layers.0.input_layernorm_moe_gen.weight');
  for (let i = 0; i < layers; i++) {
    const pre = `layers.${i}.`;
    const at = `${pre}self_attn.`;
    const q = perPass(c.projectRoped(h, `${at}add_q_proj`, `${at}norm_added_q.weight`, nH, r));
    const k = perPass(c.projectRoped(h, `${at}add_k_proj`, `${at}norm_added_k.weight`, nKV, r));
    const v = perPass(c.projectValue(h, `${at}add_v_proj`));
    // [text ; generator] joined on the 8 K/V heads, then repeated once to the 32 query heads
    const go = passes.map((ps, j) => {
      const keys = c.repeatKv(o.concat([ps.text[i].k, k[j]], 1));
      const values = c.repeatKv(o.concat([ps.text[i].v, v[j]], 1));
      return c.mha(q[j], keys, values);
    });
    const att = nPass === 1 ? go[0] : o.concat(go, 1);
    [h, gen] = c.addNorm(gen, o.linear(c.as2d(att), `${at}to_add_out`, false), `${pre}post_attention_layernorm_moe_gen.weight`);
    const next = i + 1 < layers ? `layers.${i + 1}.input_layernorm_moe_gen.weight` : 'norm_moe_gen.weight';
    [h, gen] = c.addNorm(gen, c.mlp(h, `${pre}mlp_moe_gen`), next);
  }
  const out = h;

  // ---- vision velocity per pass: proj_out, zero on clean frames, un-patchify, crop the padding
  passes.forEach((ps, j) => {
    const first = j === 0 ? zero : g.op('Mul', [Nv, g.i64([j])]);
    const visOut = o.slice(out, first, j === 0 ? Nv : g.op('Add', [first, Nv]), 0);
    const vel = g.op('Mul', [c.toF32(o.linear(visOut, 'proj_out', true)), visMask]);
    const v6 = o.reshape(vel, o.concat([T, hp, wp, P, P, g.i64([C])], 0)); // [T, hp, wp, dy, dx, C]
    const vT = g.op('Transpose', [v6], { perm: [5, 0, 1, 3, 2, 4] }); // [C, T, hp, dy, wp, dx]
    const vFull = o.reshape(vT, o.concat([g.i64([1, C]), T, g.op('Mul', [hp, P]), g.op('Mul', [wp, P])], 0));
    const vCrop = g.op('Slice', [vFull, g.i64([0, 0]), o.concat([H, W], 0), g.i64([3, 4])]);
    emit(vCrop, `${ps.outputPrefix}vision_velocity`, [1, C, 'latent_t', 'latent_h', 'latent_w']);
  });

  let row = Nv;
  if (variant.sound) {
    const end = g.op('Add', [row, o.dim(soundMask, 0)]);
    const s = g.op('Mul', [c.toF32(o.linear(o.slice(out, row, end, 0), 'audio_proj_out', true)), soundMask]);
    emit(g.op('Transpose', [s], { perm: [1, 0] }), 'sound_velocity', [cfg.sound_dim!, 'sound_len']);
    row = end;
  }
  if (variant.actions) {
    const wOut = o.reshape(g.op('Gather', [o.weight('action_proj_out.fc.weight'), domain], { axis: 0 }), g.i64([hid, da]));
    const bOut = g.op('Gather', [o.weight('action_proj_out.bias.weight'), domain], { axis: 0 });
    const a = g.op('Add', [g.op('MatMul', [o.slice(out, row, big, 0), wOut]), bOut]);
    emit(g.op('Mul', [c.toF32(a), actMask]), 'action_velocity', ['action_len', da]);
  }
}

/** Sinusoidal timestep embedding [cos, sin] of t·scale, then linear–SiLU–linear, all in float32: [1, hidden]. */
function timestepEmbedding(o: Ops, timestep: string, scale: number): string {
  const g = o.g;
  const half = o.w.get('time_embedder.linear_1.weight').shape[1] / 2; // the checkpoint's feature width
  const freqs = Float32Array.from({ length: half }, (_, k) => Math.exp((-Math.log(10000) * k) / half));
  const s = g.op('Mul', [timestep, g.scalar(scale)]);
  const args = g.op('Mul', [o.unsqueeze(s, [1]), g.constant(freqs, 'float32', [1, half])]);
  const e = o.concat([g.op('Cos', [args]), g.op('Sin', [args])], 1);
  const h = o.silu(o.linear(e, 'time_embedder.linear_1', true));
  return o.linear(h, 'time_embedder.linear_2', true);
}

/** Rotation angles [N, head_dim/2] in float32 from positions [3, N] (interleaved mRoPE). */
function rotaryAngles(o: Ops, positions: string, cfg: TransformerConfig): string {
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
  return g.op('Mul', [g.op('Transpose', [perFreq], { perm: [1, 0] }), g.constant(inv, 'float32', [nf])]); // [N, nf]
}
