/**
 * Builds a model folder with random weights on the benchmark host, at the size asked (the full Cosmos3-Nano
 * by default): the transformer whose layers all reference one stored layer's weights through external data
 * (so the full-size checkpoint on disk is ~2 GB; ONNX Runtime still loads one copy per layer on the device,
 * so memory and time are those of the real model), and the VAE with every weight stored. Graphs: those a
 * converted checkpoint has (fused single `transformer`, split `transformer_text` + `transformer_gen`,
 * `transformer_gen_merged`, and the action variants when the config has actions), plus the elementwise
 * spelling of the single graph as `transformer_unfused` (same weights), the baseline of the comparison.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  bf16ToF32, buildTransformerGenGraph, buildTransformerGenMergedGraph, buildTransformerGraph, buildTransformerTextGraph, componentContext, CONVERTER_VERSION, TRANSFORMER_OPSETS, transformerWeightSpecs,
  TransformerConfigSchema, VaeConfigSchema, vaeComponent, vaeWeightSpecs, writeSafetensors, type ComputeDtype,
  type Manifest, type ManifestGraph, type WeightSpec, type WeightTable,
} from '../../src/convert/index.js';
import { generateTinyCheckpoint } from '../../src/convert/tiny/index.js';
import { REAL_TRANSFORMER_CONFIG, realVaeConfig } from './real-config.js';

export interface RealModelOptions {
  readonly dtype: ComputeDtype;
  readonly vae: boolean;
  readonly log: (s: string) => void;
  /** Transformer config (default: the full-size one). */
  readonly transformer?: Record<string, unknown>;
  /** VAE config (default: the real widths). */
  readonly vaeConfig?: Record<string, unknown>;
}

/** bf16 bits of small pseudo-random values, cycled from one 4 MiB block (fast to generate). */
const BLOCK = (() => {
  const f = new Float32Array(2 * 1024 * 1024 + 7);
  let s = 0x2545f491;
  for (let i = 0; i < f.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    f[i] = ((s & 0xffff) / 65536 - 0.5) * 0.04; // [-0.02, 0.02)
  }
  return Uint16Array.from(new Uint32Array(f.buffer), (bits) => bits >>> 16);
})();

/** n bf16 values cycled from the block, starting `offset` elements in. */
function randomBf16(n: number, offset: number): Uint16Array {
  const out = new Uint16Array(n);
  let i = 0;
  let j = offset % BLOCK.length;
  while (i < n) {
    const k = Math.min(n - i, BLOCK.length - j);
    out.set(BLOCK.subarray(j, j + k), i);
    i += k;
    j = 0;
  }
  return out;
}

/** Norm weights near 1 so activations keep their scale through 36 layers. */
function onesBf16(n: number): Uint16Array {
  return new Uint16Array(n).fill(0x3f80);
}

async function writeBf16Checkpoint(file: string, specs: readonly WeightSpec[]): Promise<void> {
  let k = 0;
  await writeSafetensors(file, specs.map((s) => ({ name: s.name, dtype: s.role === 'float32' ? 'F32' as const : 'BF16' as const, shape: s.shape })), (name) => {
    const s = specs.find((x) => x.name === name)!;
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.role === 'float32') return bf16ToF32(randomBf16(n, k++ * 7919));
    return /norm|gamma/.test(name) ? onesBf16(n) : randomBf16(n, k++ * 7919);
  });
}

export interface RealModel {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly storedTransformerGB: number;
}

/** `layers.N.x` → the stored `layers.0.x`. */
function sharedLayerTable(placed: WeightTable): WeightTable {
  return {
    get(name) {
      const m = /^layers\.\d+\.(.*)$/.exec(name);
      return placed.get(m ? `layers.0.${m[1]}` : name);
    },
  };
}

export async function buildRealModel(root: string, opts: RealModelOptions): Promise<RealModel> {
  const transformerConfig = opts.transformer ?? REAL_TRANSFORMER_CONFIG;
  const ckpt = path.join(root, 'ckpt');
  const dir = path.join(root, 'model');
  await mkdir(path.join(ckpt, 'transformer'), { recursive: true });
  await mkdir(dir, { recursive: true });
  // tokenizer, scheduler and model index of the tiny model (ids stay far below the real vocabulary)
  const tiny = path.join(root, 'tiny');
  await generateTinyCheckpoint(tiny);
  const configs: Record<string, string> = {};
  for (const rel of ['model_index.json', 'scheduler/scheduler_config.json', 'text_tokenizer/tokenizer.json', 'text_tokenizer/tokenizer_config.json', 'text_tokenizer/chat_template.jinja']) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await copyFile(path.join(tiny, rel), path.join(dir, rel));
    configs[rel] = rel;
  }

  const cfg = TransformerConfigSchema.parse(transformerConfig);
  const stored = transformerWeightSpecs(cfg, { timeFreqDim: 256 }).filter((s) => !/^layers\.(?!0\.)/.test(s.name));
  const tfile = path.join(ckpt, 'transformer', 'diffusion_pytorch_model.safetensors');
  let t0 = performance.now();
  await writeBf16Checkpoint(tfile, stored);
  const storedBytes = stored.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * (s.role === 'float32' ? 4 : 2), 0);
  opts.log(`wrote random transformer weights (${(storedBytes / 2 ** 30).toFixed(2)} GiB: layer 0 + embeddings) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await mkdir(path.join(dir, 'transformer'), { recursive: true });
  await writeFile(path.join(dir, 'transformer', 'config.json'), JSON.stringify(transformerConfig));
  configs['transformer/config.json'] = 'transformer/config.json';

  const ctxOptions = {
    checkpoint: ckpt, out: dir, dtype: opts.dtype, link: true, progress: () => {},
    metadata: { note: 'random weights, layers share one stored layer' }, weightTable: sharedLayerTable,
  };
  const ctx = componentContext(ctxOptions);
  const table = await ctx.placeWeights('transformer', stored);
  const graphs: Record<string, ManifestGraph> = {};
  t0 = performance.now();
  const vision = { actions: false, sound: false };
  graphs.transformer = await ctx.writeGraph('transformer', 'transformer', buildTransformerGraph(cfg, table, opts.dtype, vision), TRANSFORMER_OPSETS);
  graphs.transformer_text = await ctx.writeGraph('transformer_text', 'transformer', buildTransformerTextGraph(cfg, table, opts.dtype), TRANSFORMER_OPSETS);
  graphs.transformer_gen = await ctx.writeGraph('transformer_gen', 'transformer', buildTransformerGenGraph(cfg, table, opts.dtype, vision), TRANSFORMER_OPSETS);
  if (cfg.action_gen) {
    // as a converted checkpoint with actions has them: the server then runs vision requests through the action graph
    const actions = { actions: true, sound: false };
    graphs.transformer_action = await ctx.writeGraph('transformer_action', 'transformer', buildTransformerGraph(cfg, table, opts.dtype, actions), TRANSFORMER_OPSETS);
    graphs.transformer_gen_action = await ctx.writeGraph('transformer_gen_action', 'transformer', buildTransformerGenGraph(cfg, table, opts.dtype, actions), TRANSFORMER_OPSETS);
  }
  const served = { actions: cfg.action_gen === true, sound: false };
  graphs.transformer_gen_merged = await ctx.writeGraph('transformer_gen_merged', 'transformer', buildTransformerGenMergedGraph(cfg, table, opts.dtype, served), TRANSFORMER_OPSETS);
  const unfused = buildTransformerGraph(cfg, table, opts.dtype, vision, { fused: false });
  const plain = componentContext({ ...ctxOptions, transformerGraphs: { fused: false } }); // for the graph metadata
  graphs.transformer_unfused = await plain.writeGraph('transformer_unfused', 'transformer', unfused, TRANSFORMER_OPSETS);
  opts.log(`built the ${cfg.num_hidden_layers}-layer transformer graphs (fused single, split, and the generator with guidance pairing; unfused single) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  if (opts.vae) {
    const vcfgRaw = opts.vaeConfig ?? realVaeConfig();
    VaeConfigSchema.parse(vcfgRaw);
    await mkdir(path.join(ckpt, 'vae'), { recursive: true });
    await writeFile(path.join(ckpt, 'vae', 'config.json'), JSON.stringify(vcfgRaw));
    const vspecs = vaeWeightSpecs(VaeConfigSchema.parse(vcfgRaw));
    await writeBf16Checkpoint(path.join(ckpt, 'vae', 'diffusion_pytorch_model.safetensors'), vspecs);
    Object.assign(graphs, await vaeComponent.convert(ctx));
    await mkdir(path.join(dir, 'vae'), { recursive: true });
    await writeFile(path.join(dir, 'vae', 'config.json'), JSON.stringify(vcfgRaw));
    configs['vae/config.json'] = 'vae/config.json';
    opts.log(`built the VAE graphs (${vspecs.length} tensors)`);
  }
  const manifest: Manifest = {
    format: 'cosmos3-serve-model', converterVersion: CONVERTER_VERSION, createdAt: new Date().toISOString(), dtype: opts.dtype,
    transformerGraphs: { fused: true },
    source: { checkpoint: ckpt, files: [] }, graphs, configs,
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, manifest, storedTransformerGB: storedBytes / 2 ** 30 };
}
