import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ModelManifestError } from '../shared/index.js';

/**
 * Version of the converter's output. Bumped when the graphs a model folder holds change, so the embedded tiny
 * model is rebuilt (src/convert/tiny/ensure.ts). 0.2.0: the VAE Loop graphs (vae_encoder_loop, vae_decoder_loop).
 * 0.3.0: the split transformer graphs (transformer_text, transformer_gen*). 0.4.0: fused transformer kernels
 * (RotaryEmbedding, QuickGelu, SkipSimplifiedLayerNormalization), K/V joined before the head repeat, float16
 * text K/V in 16-bit models, QuickGelu for the VAE's SiLU, transformer_gen_pair (both guidance passes in one run).
 * 0.5.0: transformer_gen_merged (the served generator with guidance pairing in an If, one copy of the weights)
 * replaces transformer_gen_pair. 0.6.0: vae_encoder_loop_rgb8 and vae_decoder_loop_rgb8 (RGB bytes in and out,
 * converted in the graph).
 */
export const CONVERTER_VERSION = '0.6.0';
export const MANIFEST_FILE = 'manifest.json';

const IoSchema = z.object({
  name: z.string(),
  dtype: z.string(),
  dims: z.array(z.union([z.number(), z.string()])),
});
export type ManifestIo = z.infer<typeof IoSchema>;

const GraphSchema = z.object({
  file: z.string(),
  component: z.enum(['transformer', 'vae']),
  inputs: z.array(IoSchema),
  outputs: z.array(IoSchema),
});
export type ManifestGraph = z.infer<typeof GraphSchema>;

export const ManifestSchema = z.object({
  format: z.literal('cosmos3-serve-model'),
  converterVersion: z.string(),
  createdAt: z.string(),
  dtype: z.enum(['float32', 'float16', 'bfloat16']),
  /** How the transformer graphs are spelled (absent before 0.4.0: elementwise). */
  transformerGraphs: z.object({ fused: z.boolean() }).optional(),
  source: z.object({
    checkpoint: z.string(),
    files: z.array(z.object({ path: z.string(), bytes: z.number(), sha256: z.string().optional() })),
  }),
  /** Graph name → file and I/O. Names: transformer, transformer_action, transformer_sound, transformer_text, transformer_gen, transformer_gen_action, transformer_gen_sound, transformer_gen_merged, vae_encoder, vae_decoder. */
  graphs: z.record(z.string(), GraphSchema),
  /** Component configs copied beside the graphs (relative paths). */
  configs: z.record(z.string(), z.string()),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export async function readManifest(modelDir: string): Promise<Manifest> {
  const file = path.join(modelDir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new ModelManifestError(modelDir, `${MANIFEST_FILE} is missing or not JSON (run cosmos3-serve convert)`, { cause });
  }
  const r = ManifestSchema.safeParse(raw);
  if (!r.success) throw new ModelManifestError(modelDir, `${MANIFEST_FILE}: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
  return r.data;
}
