import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TransformerConfigSchema, VaeConfigSchema } from '../model-config.js';
import { transformerWeightSpecs } from '../graphs/transformer.js';
import { vaeWeightSpecs } from '../graphs/vae.js';
import { writeSafetensors } from '../safetensors/index.js';
import type { WeightSpec } from '../weights.js';
import { nameSeed, WeightRandom } from './random.js';
import { TINY_CHAT_TEMPLATE, TINY_TOKENIZER_CONFIG, tinyTokenizerJson } from './tokenizer.js';
import { TINY_MODEL_INDEX, TINY_SCHEDULER_CONFIG, TINY_SEED, TINY_TRANSFORMER_CONFIG, tinyVaeConfig } from './tiny-config.js';

/** The timestep embedder's sinusoidal feature width (time_embedder.linear_1 in-features), as the real model's. */
const TIME_FREQ_DIM = 256;

/** Random values for one tensor: norms near 1, biases near 0, matrices scaled by 1/sqrt(fan-in). */
function values(spec: WeightSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const r = new WeightRandom(nameSeed(seed, spec.name));
  const out = new Float32Array(n);
  const leaf = spec.name.split('.').pop()!;
  const isNorm = /norm/.test(spec.name) && (leaf === 'weight' || leaf === 'gamma');
  if (isNorm || leaf === 'gamma') return r.fillNormal(out, 1, 0.1);
  if (leaf === 'bias' || spec.shape.length === 1) return r.fillNormal(out, 0, 0.02);
  const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
  return r.fillNormal(out, 0, 1 / Math.sqrt(fanIn));
}

async function writeComponent(dir: string, config: object, specs: readonly WeightSpec[], seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  await writeSafetensors(
    path.join(dir, 'diffusion_pytorch_model.safetensors'),
    specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape })),
    (name) => values(specs.find((s) => s.name === name)!, seed),
  );
}

/** Raise when `values` or the checkpoint layout change in a way the definitions below do not show. */
const TINY_GENERATOR_REVISION = 1;

/**
 * A fingerprint of what the tiny checkpoint is made from (configs, seed, tokenizer, generator revision): a model
 * made from other definitions is made again (`ensureTinyModel`), not served stale.
 */
export function tinyFingerprint(seed = TINY_SEED): string {
  const parts = {
    revision: TINY_GENERATOR_REVISION, seed, transformer: TINY_TRANSFORMER_CONFIG, vae: tinyVaeConfig(),
    scheduler: TINY_SCHEDULER_CONFIG, modelIndex: TINY_MODEL_INDEX, tokenizer: tinyTokenizerJson(),
    chatTemplate: TINY_CHAT_TEMPLATE, tokenizerConfig: TINY_TOKENIZER_CONFIG,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Write the embedded tiny checkpoint (diffusers layout: transformer, vae, scheduler, text_tokenizer,
 * model_index.json) into `dir`. Deterministic: the same seed gives the same bytes.
 */
export async function generateTinyCheckpoint(dir: string, seed = TINY_SEED): Promise<void> {
  const tcfg = TransformerConfigSchema.parse(TINY_TRANSFORMER_CONFIG);
  const vcfgRaw = tinyVaeConfig();
  const vcfg = VaeConfigSchema.parse(vcfgRaw);
  await writeComponent(path.join(dir, 'transformer'), TINY_TRANSFORMER_CONFIG, transformerWeightSpecs(tcfg, { timeFreqDim: TIME_FREQ_DIM }), seed);
  await writeComponent(path.join(dir, 'vae'), vcfgRaw, vaeWeightSpecs(vcfg), seed + 1);
  await mkdir(path.join(dir, 'scheduler'), { recursive: true });
  await writeFile(path.join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(TINY_SCHEDULER_CONFIG, null, 2) + '\n');
  const tok = path.join(dir, 'text_tokenizer');
  await mkdir(tok, { recursive: true });
  await writeFile(path.join(tok, 'tokenizer.json'), tinyTokenizerJson());
  await writeFile(path.join(tok, 'chat_template.jinja'), TINY_CHAT_TEMPLATE);
  await writeFile(path.join(tok, 'tokenizer_config.json'), JSON.stringify(TINY_TOKENIZER_CONFIG, null, 2) + '\n');
  await writeFile(path.join(dir, 'model_index.json'), JSON.stringify(TINY_MODEL_INDEX, null, 2) + '\n');
}
