import { copyFile, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointConfigError } from '../shared/index.js';
import { checkTransformerSupported, readConfig, SchedulerConfigSchema, TransformerConfigSchema, VaeConfigSchema } from './model-config.js';
import {
  buildTransformerGenGraph, buildTransformerGenMergedGraph, buildTransformerGraph, buildTransformerTextGraph, DEFAULT_TRANSFORMER_GRAPH_OPTIONS, TRANSFORMER_OPSETS,
  transformerWeightSpecs, type TransformerGraphOptions, type TransformerVariant,
} from './graphs/transformer.js';
import { vaeComponent } from './graphs/vae.js';
import { CONVERTER_VERSION, MANIFEST_FILE, type Manifest, type ManifestGraph } from './manifest.js';
import { SafetensorsReader } from './safetensors/index.js';
import { hashFile, placeWeights, tableOf, type ComputeDtype, type WeightSpec, type WeightTable } from './weights.js';
import type { GraphBuilder } from './onnx/index.js';

export interface ConvertOptions {
  readonly checkpoint: string;
  readonly out: string;
  readonly dtype: ComputeDtype;
  /** Reference checkpoint bytes in place when the dtype allows (default true); false copies them. */
  readonly link?: boolean;
  /** Hash source files into the manifest (default true). */
  readonly hash?: boolean;
  /** How the transformer graphs are spelled (default: fused kernels). */
  readonly transformerGraphs?: TransformerGraphOptions;
  /**
   * Require what the server reads besides the transformer (vae/, the scheduler config, the tokenizer and its chat
   * template) before converting anything (default true). false converts what is there (measurements).
   */
  readonly servable?: boolean;
  readonly onProgress?: (event: ConvertProgress) => void;
}

export interface ConvertProgress {
  readonly stage: 'weights' | 'graphs' | 'hash' | 'done';
  readonly done: number;
  readonly total: number;
  readonly item?: string;
}

/** Graph builders for the components the converter knows, keyed by the component folder. */
export interface ComponentConverter {
  readonly folder: string;
  convert(ctx: ComponentContext): Promise<Record<string, ManifestGraph>>;
}

export interface ComponentContext {
  readonly checkpoint: string;
  readonly out: string;
  readonly dtype: ComputeDtype;
  readonly link: boolean;
  readonly transformerGraphs: TransformerGraphOptions;
  readonly progress: (event: ConvertProgress) => void;
  /** Check and place the weights of `<checkpoint>/<folder>` (progress per tensor) as `<folder>.*` files. */
  placeWeights(folder: string, specs: readonly WeightSpec[]): Promise<WeightTable>;
  /** The checkpoint files the weights were read from so far (paths as opened). */
  readonly sourceFiles: ReadonlySet<string>;
  /** Serialize a graph to `<out>/<name>.onnx` and describe it for the manifest. */
  writeGraph(name: string, component: ManifestGraph['component'], g: GraphBuilder, opsets: Readonly<Record<string, number>>): Promise<ManifestGraph>;
}

/** The transformer: one graph per modality set the checkpoint supports, plus the text / generator split of each. */
export const transformerComponent: ComponentConverter = {
  folder: 'transformer',
  async convert(ctx) {
    const cfgFile = path.join(ctx.checkpoint, 'transformer', 'config.json');
    const cfg = await readConfig(cfgFile, TransformerConfigSchema);
    checkTransformerSupported(cfgFile, cfg);
    const table = await ctx.placeWeights('transformer', transformerWeightSpecs(cfg));
    const variants: [string, TransformerVariant][] = [['transformer', { actions: false, sound: false }]];
    if (cfg.action_gen) variants.push(['transformer_action', { actions: true, sound: false }]);
    if (cfg.sound_gen) variants.push(['transformer_sound', { actions: false, sound: true }]);
    const graphs: Record<string, ManifestGraph> = {};
    const opts = ctx.transformerGraphs;
    for (const [name, variant] of variants) {
      graphs[name] = await ctx.writeGraph(name, 'transformer', buildTransformerGraph(cfg, table, ctx.dtype, variant, opts), TRANSFORMER_OPSETS);
    }
    // the same forward split in two: text K/V once per prompt, the generator tower every step
    graphs.transformer_text = await ctx.writeGraph('transformer_text', 'transformer', buildTransformerTextGraph(cfg, table, ctx.dtype, opts), TRANSFORMER_OPSETS);
    for (const [name, variant] of variants) {
      const gen = name.replace('transformer', 'transformer_gen');
      graphs[gen] = await ctx.writeGraph(gen, 'transformer', buildTransformerGenGraph(cfg, table, ctx.dtype, variant, opts), TRANSFORMER_OPSETS);
    }
    // the served generator with guidance pairing built in (both passes of a vision-only step in one run; the
    // same weights, so the session holds one copy): the action variant when the model has actions
    const served = { actions: cfg.action_gen === true, sound: false };
    graphs.transformer_gen_merged = await ctx.writeGraph('transformer_gen_merged', 'transformer', buildTransformerGenMergedGraph(cfg, table, ctx.dtype, served, opts), TRANSFORMER_OPSETS);
    return graphs;
  },
};

/**
 * What a component converter works with: weights placed from `<checkpoint>/<folder>` and graphs written to
 * `out`. `weightTable` may wrap the placed table (the GPU benchmark maps 36 layers onto one stored layer).
 */
export function componentContext(opts: {
  readonly checkpoint: string;
  readonly out: string;
  readonly dtype: ComputeDtype;
  readonly link: boolean;
  readonly progress: (event: ConvertProgress) => void;
  readonly transformerGraphs?: TransformerGraphOptions;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly weightTable?: (placed: WeightTable) => WeightTable;
}): ComponentContext {
  const { checkpoint, out, dtype, link, progress } = opts;
  const transformerGraphs = opts.transformerGraphs ?? DEFAULT_TRANSFORMER_GRAPH_OPTIONS;
  const sourceFiles = new Set<string>();
  return {
    checkpoint, out, dtype, link, progress, transformerGraphs, sourceFiles,
    async placeWeights(folder, specs) {
      const reader = await SafetensorsReader.open(path.join(checkpoint, folder));
      for (const f of reader.sources) sourceFiles.add(f);
      try {
        let n = 0;
        const placed = await placeWeights(reader, specs, {
          outDir: out, fileBase: folder, computeDtype: dtype, link,
          onTensor: (name) => progress({ stage: 'weights', done: ++n, total: specs.length, item: name }),
        });
        return (opts.weightTable ?? ((t) => t))(tableOf(placed));
      } finally {
        await reader.close();
      }
    },
    async writeGraph(name, component, g, opsets) {
      const file = `${name}.onnx`;
      const metadata = { dtype, fused_kernels: String(transformerGraphs.fused), ...opts.metadata };
      await writeFile(path.join(out, file), g.serialize(opsets, { producerVersion: CONVERTER_VERSION, metadata }));
      progress({ stage: 'graphs', done: 1, total: 1, item: name });
      return { file, component, inputs: g.inputs.map((v) => ({ ...v, dims: [...v.dims] })), outputs: g.outputs.map((v) => ({ ...v, dims: [...v.dims] })) };
    },
  };
}

/** Files copied verbatim beside the graphs so the engine reads one folder. */
const COPIED = [
  'model_index.json',
  'transformer/config.json',
  'vae/config.json',
  'scheduler/scheduler_config.json',
  'text_tokenizer/tokenizer.json',
  'text_tokenizer/tokenizer_config.json',
  'text_tokenizer/chat_template.jinja',
  'text_tokenizer/special_tokens_map.json',
];

/** Convert a diffusers-layout Cosmos3 checkpoint into ONNX graphs plus manifest.json under `out`. */
export async function convertCheckpoint(opts: ConvertOptions): Promise<Manifest> {
  const st = await stat(opts.checkpoint).catch(() => null);
  if (!st?.isDirectory()) throw new CheckpointConfigError(opts.checkpoint, 'is not a folder (expected a diffusers-layout checkpoint)');
  // compared as real paths: through a symlink to either folder they would look apart
  const root = await realpath(opts.checkpoint);
  const out = await realpathOfNew(opts.out);
  if (out === root || out.startsWith(root + path.sep)) {
    throw new CheckpointConfigError(opts.checkpoint, `holds the output folder ${opts.out}: write the graphs outside the checkpoint (its own files would be read as weights on the next run)`);
  }
  if (opts.servable !== false) {
    await checkServable(opts.checkpoint);
    // a scheduler the sampler does not implement is refused before any weight is converted
    await readConfig(path.join(opts.checkpoint, 'scheduler', 'scheduler_config.json'), SchedulerConfigSchema);
  }
  await checkVaeFitsTransformer(opts.checkpoint);
  await mkdir(opts.out, { recursive: true });
  // a folder with a manifest is a model the server accepts: while this run rewrites it, it must not be one
  await rm(path.join(opts.out, MANIFEST_FILE), { force: true });
  const progress = opts.onProgress ?? (() => {});
  const link = opts.link ?? true;
  const ctx = componentContext({ checkpoint: opts.checkpoint, out: opts.out, dtype: opts.dtype, link, progress, transformerGraphs: opts.transformerGraphs });
  const byFolder: Record<string, Record<string, ManifestGraph>> = {};
  if (!(await exists(path.join(opts.checkpoint, 'transformer')))) {
    throw new CheckpointConfigError(opts.checkpoint, 'has no transformer/ folder');
  }
  // the VAE first: it is small, so a VAE that does not fit fails before the transformer's long pass
  for (const c of [vaeComponent, transformerComponent]) {
    if (!(await exists(path.join(opts.checkpoint, c.folder)))) continue;
    byFolder[c.folder] = await c.convert(ctx);
  }
  const graphs: Record<string, ManifestGraph> = { ...byFolder.transformer, ...byFolder.vae };
  const configs: Record<string, string> = {};
  for (const rel of COPIED) {
    const src = path.join(opts.checkpoint, rel);
    if (!(await exists(src))) continue;
    const dst = path.join(opts.out, rel);
    await mkdir(path.dirname(dst), { recursive: true });
    await copyFile(src, dst);
    configs[rel] = rel;
  }
  const files: Manifest['source']['files'] = [];
  // the files read (not variants or stray shards beside them), as paths inside the checkpoint
  const sources = [...ctx.sourceFiles].map((f) => path.relative(opts.checkpoint, f)).sort();
  let i = 0;
  for (const f of sources) {
    if (opts.hash ?? true) {
      progress({ stage: 'hash', done: i++, total: sources.length, item: f });
      files.push({ path: f, ...(await hashFile(path.join(opts.checkpoint, f))) });
    } else {
      files.push({ path: f, bytes: (await stat(path.join(opts.checkpoint, f))).size });
    }
  }
  if ((opts.hash ?? true) && sources.length > 0) progress({ stage: 'hash', done: sources.length, total: sources.length });
  const manifest: Manifest = {
    format: 'cosmos3-serve-model',
    converterVersion: CONVERTER_VERSION,
    createdAt: new Date().toISOString(),
    dtype: opts.dtype,
    transformerGraphs: ctx.transformerGraphs,
    source: { checkpoint: path.resolve(opts.checkpoint), files },
    graphs,
    configs,
  };
  // written last and whole (temp file, then rename): a manifest only ever describes a finished conversion
  const tmp = path.join(opts.out, `${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, path.join(opts.out, MANIFEST_FILE));
  progress({ stage: 'done', done: 1, total: 1 });
  return manifest;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}

/**
 * The real path of `p`, which need not exist yet: its nearest existing ancestor resolved, the rest appended. The
 * path is not normalised first: `link/../x` must go through the link, as mkdir will.
 */
async function realpathOfNew(p: string): Promise<string> {
  const abs = path.isAbsolute(p) ? p : `${process.cwd()}${path.sep}${p}`;
  const real = await realpath(abs).catch(() => null);
  if (real !== null) return real;
  const parent = path.dirname(abs);
  return parent === abs ? abs : path.join(await realpathOfNew(parent), path.basename(abs));
}

/** The VAE's latent channels are the transformer's: a VAE of another model is refused before anything is written. */
async function checkVaeFitsTransformer(checkpoint: string): Promise<void> {
  const tFile = path.join(checkpoint, 'transformer', 'config.json');
  const vFile = path.join(checkpoint, 'vae', 'config.json');
  if (!(await exists(tFile)) || !(await exists(vFile))) return;
  const t = await readConfig(tFile, TransformerConfigSchema);
  const v = await readConfig(vFile, VaeConfigSchema);
  if (t.latent_channel !== v.z_dim) {
    throw new CheckpointConfigError(checkpoint,
      `vae/config.json z_dim is ${v.z_dim} but transformer/config.json latent_channel is ${t.latent_channel}: the VAE is not this model's`);
  }
}

/** What the server reads besides the transformer; every missing piece is named before anything is converted. */
async function checkServable(checkpoint: string): Promise<void> {
  const has = (rel: string) => exists(path.join(checkpoint, rel));
  const missing: string[] = [];
  for (const rel of ['vae/config.json', 'scheduler/scheduler_config.json', 'text_tokenizer/tokenizer.json']) {
    if (!(await has(rel))) missing.push(rel);
  }
  if (!(await has('text_tokenizer/chat_template.jinja')) && !(await configHasChatTemplate(path.join(checkpoint, 'text_tokenizer/tokenizer_config.json')))) {
    missing.push('text_tokenizer/chat_template.jinja (or a chat_template in tokenizer_config.json)');
  }
  if (missing.length > 0) {
    throw new CheckpointConfigError(checkpoint, `lacks ${missing.join(', ')}, which the server reads (download the whole diffusers-layout repository)`);
  }
}

/** Whether tokenizer_config.json exists and holds a `chat_template` string (what the server's tokenizer reads). */
async function configHasChatTemplate(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return false;
  try {
    const t = (JSON.parse(text) as { chat_template?: unknown }).chat_template;
    return typeof t === 'string' && t.length > 0;
  } catch {
    return false;
  }
}
