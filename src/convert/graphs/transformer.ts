import { graph, GraphBuilder, OnnxDataType, tensorAttr, type Dim, type OnnxDtype } from '../onnx/index.js';
import type { TransformerConfig } from '../model-config.js';
import { ANY_SIZE, type ComputeDtype, type WeightSpec, type WeightTable } from '../weights.js';
import {
  declareGeneratorInputs, DEFAULT_TRANSFORMER_GRAPH_OPTIONS, generatorTower, textTower, TowerContext,
  type GenEmit, type GenPass, type TextKv, type TransformerGraphOptions, type TransformerVariant,
} from './transformer-towers.js';

export { DEFAULT_TRANSFORMER_GRAPH_OPTIONS, type TransformerGraphOptions, type TransformerVariant } from './transformer-towers.js';

/**
 * The Cosmos3 mixture-of-transformers denoiser as one ONNX graph (docs/graphs.md). Text rows use the
 * reasoner ("und") weights and attend causally to text; generator rows (vision patches, then sound, then
 * actions) use the generator weights and attend to [text ; generator]. Graph I/O is float32; the compute
 * dtype is chosen at conversion, casts sit inside the graph. Besides the single graph per variant, the
 * converter writes the text tower (`transformer_text`) and the generator tower (`transformer_gen*`) apart,
 * so the engine computes the text K/V once per prompt instead of once per denoising step.
 */

export const TRANSFORMER_OPSETS = { '': 23, 'com.microsoft': 1 } as const;

/** Every checkpoint tensor the graph reads, with its expected shape. */
export function transformerWeightSpecs(cfg: TransformerConfig, opts: { timeFreqDim?: number } = {}): WeightSpec[] {
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
  // the sinusoidal timestep features' width (256 in the tiny fixture and the real model) is the checkpoint's
  const tIn = opts.timeFreqDim ?? ANY_SIZE;
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

/** Build one transformer variant as a single graph; returns the builder (serialize it with TRANSFORMER_OPSETS). */
export function buildTransformerGraph(
  cfg: TransformerConfig, weights: WeightTable, dtype: ComputeDtype, variant: TransformerVariant,
  opts: TransformerGraphOptions = DEFAULT_TRANSFORMER_GRAPH_OPTIONS,
): GraphBuilder {
  const g = new GraphBuilder(`cosmos3_transformer${suffix(variant)}`);
  const c = new TowerContext(g, weights, cfg, dtype, opts);
  const inputIds = g.input('input_ids', 'int64', ['text_len']);
  const positions = g.input('positions', 'float32', [3, 'seq_len']);
  const L = c.o.dim(inputIds, 0);
  const text = textTower(c, inputIds, c.rotary(c.o.slice(positions, c.zero, L, 1)));
  generatorTower(c, variant, [{ positions, textLen: L, text, outputPrefix: '' }]);
  return g;
}

/**
 * dtype of the text K/V between `transformer_text` and `transformer_gen*`: float32 for float32 models, float16
 * otherwise (half the bytes crossing the host each step). bfloat16 values in float16's normal range are exact in
 * float16 (11-bit mantissa against bfloat16's 8); larger ones are clipped to ±65504 first; below 2⁻¹⁴ they become
 * float16 subnormals, with an absolute error under 3e-8.
 */
export function textKvDtype(dtype: ComputeDtype): 'float32' | 'float16' {
  return dtype === 'float32' ? 'float32' : 'float16';
}

const FLOAT16_MAX = 65504;

/**
 * The text tower alone (`transformer_text`): ids [text_len] and text positions [3, text_len] → per layer
 * `text_k.{i}` (after norm_k and RoPE) and `text_v.{i}`, [text_len, num_key_value_heads, head_dim] in
 * `textKvDtype(dtype)`.
 */
export function buildTransformerTextGraph(
  cfg: TransformerConfig, weights: WeightTable, dtype: ComputeDtype,
  opts: TransformerGraphOptions = DEFAULT_TRANSFORMER_GRAPH_OPTIONS,
): GraphBuilder {
  const g = new GraphBuilder('cosmos3_transformer_text');
  const c = new TowerContext(g, weights, cfg, dtype, opts);
  const inputIds = g.input('input_ids', 'int64', ['text_len']);
  const positions = g.input('positions', 'float32', [3, 'text_len']);
  const dims = ['text_len', cfg.num_key_value_heads, cfg.head_dim];
  const perHead = g.i64([-1, cfg.num_key_value_heads, cfg.head_dim]);
  const kvDtype = textKvDtype(dtype);
  const toKv = (x: string): string => {
    if (dtype === kvDtype) return x;
    if (kvDtype === 'float32') return c.toF32(x);
    // via float32: the CUDA EP has no bfloat16 Clip (text K/V are small; this runs once per prompt)
    const clipped = g.op('Clip', [c.toF32(x), g.scalar(-FLOAT16_MAX), g.scalar(FLOAT16_MAX)]);
    return c.o.cast(clipped, OnnxDataType.float16);
  };
  textTower(c, inputIds, c.rotary(positions)).forEach((kv, i) => {
    g.output(toKv(c.o.reshape(kv.k, perHead)), `text_k.${i}`, kvDtype, dims);
    g.output(toKv(c.o.reshape(kv.v, perHead)), `text_v.${i}`, kvDtype, dims);
  });
  return g;
}

/**
 * The generator tower alone (`transformer_gen*`): the single graph's inputs with `input_ids` replaced by
 * every layer's `text_k.{i}` / `text_v.{i}` (from `transformer_text`). `positions` still spans the joint
 * sequence [3, seq_len]; its first text_len columns are skipped (text_len is read from `text_k.0`).
 */
export function buildTransformerGenGraph(
  cfg: TransformerConfig, weights: WeightTable, dtype: ComputeDtype, variant: TransformerVariant,
  opts: TransformerGraphOptions = DEFAULT_TRANSFORMER_GRAPH_OPTIONS,
): GraphBuilder {
  const g = new GraphBuilder(`cosmos3_transformer_gen${suffix(variant)}`);
  const c = new TowerContext(g, weights, cfg, dtype, opts);
  const pass = textKvPass(c, '', 'text_len', 'seq_len');
  generatorTower(c, variant, [pass]);
  return g;
}

/**
 * The served generator graph with guidance pairing built in (`transformer_gen_merged`, converter 0.5.0): the
 * generator graph of `variant` (its inputs and outputs) plus a second pass's `uncond_text_k/v.{i}` and
 * `uncond_positions`, an `uncond_vision_velocity` output and an int64 [1] input `paired`. An ONNX If runs one of
 * two bodies that read the same weights (one copy in the session): `paired` = 0, the generator tower of `variant`
 * on the conditional inputs (the `uncond_*` inputs may be empty, `uncond_vision_velocity` is empty); `paired` = 1,
 * both guidance passes of a vision-only step at once, the rows stacked (the action rows must be empty,
 * `action_velocity` is empty). Converter 0.4.0 wrote the paired pass as a graph of its own (`transformer_gen_pair`,
 * a second copy of the generator weights in its session); this replaces it.
 */
export function buildTransformerGenMergedGraph(
  cfg: TransformerConfig, weights: WeightTable, dtype: ComputeDtype, variant: TransformerVariant,
  opts: TransformerGraphOptions = DEFAULT_TRANSFORMER_GRAPH_OPTIONS,
): GraphBuilder {
  if (variant.sound) throw new Error('buildTransformerGenMergedGraph: the sound variant has no guidance pairing');
  const g = new GraphBuilder(`cosmos3_transformer_gen_merged${suffix(variant)}`);
  const c = new TowerContext(g, weights, cfg, dtype, opts);
  const cond = textKvPass(c, '', 'text_len', 'seq_len');
  const uncond = textKvPass(c, 'uncond_', 'uncond_text_len', 'uncond_seq_len');
  const inputs = declareGeneratorInputs(g, cfg, variant);
  const paired = g.input('paired', 'int64', [1]);
  const C = cfg.latent_channel;
  const dims: Record<string, readonly Dim[]> = {
    vision_velocity: [1, C, 'latent_t', 'latent_h', 'latent_w'],
    action_velocity: ['action_len', cfg.action_dim ?? 0],
    uncond_vision_velocity: [1, C, 'uncond_latent_t', 'uncond_latent_h', 'uncond_latent_w'],
  };
  const outputs = ['vision_velocity', ...(variant.actions ? ['action_velocity'] : []), 'uncond_vision_velocity'];

  /** One If body: the tower's outputs by name, the missing ones as empty float32 tensors of `empty` shape. */
  const body = (name: string, build: (b: TowerContext, emit: GenEmit) => void, empty: Record<string, readonly number[]>): GraphBuilder => {
    const b = g.subgraph(name);
    const got = new Map<string, string>();
    build(new TowerContext(b, weights, cfg, dtype, opts), (value, out) => got.set(out, value));
    for (const out of outputs) {
      const value = got.get(out) ?? b.op('ConstantOfShape', [b.i64([...empty[out]])], { value: tensorAttr('float32', [1], new Uint8Array(4)) });
      b.output(value, value, 'float32', dims[out]);
    }
    return b;
  };
  const single = body('single', (b, emit) => generatorTower(b, variant, [cond], inputs, emit), {
    uncond_vision_velocity: [1, C, 0, 0, 0],
  });
  const pair = body('pair', (b, emit) => generatorTower(b, { actions: false, sound: false }, [cond, uncond], inputs, emit), {
    action_velocity: [0, cfg.action_dim ?? 0],
  });
  const isPaired = g.op('Cast', [g.op('Squeeze', [paired, c.zero])], { to: OnnxDataType.bool });
  g.node('If', [isPaired], { then_branch: graph(pair), else_branch: graph(single) }, { outputNames: outputs });
  for (const out of outputs) g.output(out, out, 'float32', dims[out]);
  return g;
}

/** Declares one pass's `${prefix}text_k.{i}` / `${prefix}text_v.{i}` (every layer) and `${prefix}positions`. */
function textKvPass(c: TowerContext, prefix: string, textDim: string, seqDim: string): GenPass {
  const { g, cfg, dtype } = c;
  const dims = [textDim, cfg.num_key_value_heads, cfg.head_dim];
  const kvDtype = textKvDtype(dtype);
  const toCompute = (x: string) => c.flat(kvDtype === dtype ? x : c.toCompute(x), cfg.num_key_value_heads);
  const text: TextKv[] = [];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const k = g.input(`${prefix}text_k.${i}`, kvDtype, dims);
    const v = g.input(`${prefix}text_v.${i}`, kvDtype, dims);
    text.push({ k: toCompute(k), v: toCompute(v) });
  }
  const textLen = c.o.dim(`${prefix}text_k.0`, 0); // the graph input declared above
  const positions = g.input(`${prefix}positions`, 'float32', [3, seqDim]);
  return { positions, textLen, text, outputPrefix: prefix };
}

function suffix(variant: TransformerVariant): string {
  return `${variant.actions ? '_action' : ''}${variant.sound ? '_sound' : ''}`;
}

export function transformerIo(g: GraphBuilder): { inputs: GraphIo[]; outputs: GraphIo[] } {
  return { inputs: [...g.inputs], outputs: [...g.outputs] };
}
