import { TINY_TRANSFORMER_CONFIG, tinyVaeConfig } from '../../src/convert/tiny/tiny-config.js';

/**
 * Cosmos3-Nano sizes (SPEC §3, §5) for the GPU benchmark: the tiny model's transformer config (the same keys
 * and structure, made by the reference code) at full size, and the Wan2.2 VAE real config (704.7M parameters).
 * Weights are random; the benchmark measures time and memory, not quality.
 */
export const REAL_TRANSFORMER_CONFIG = {
  ...TINY_TRANSFORMER_CONFIG,
  action_dim: 64,
  head_dim: 128,
  hidden_size: 4096,
  intermediate_size: 12288,
  num_attention_heads: 32,
  num_hidden_layers: 36,
  num_key_value_heads: 8,
  rope_axes_dim: [24, 20, 20],
  vocab_size: 151936,
};

/** The tiny VAE's config at the real widths (base 160, decoder base 256): the same structure and latent statistics. */
export function realVaeConfig(): Record<string, unknown> {
  return { ...tinyVaeConfig(), base_dim: 160, decoder_base_dim: 256 };
}

/**
 * A mid-width transformer for CPU side-by-side runs: the real head layout (head_dim 128, 4 query heads per
 * K/V head, real RoPE sections) at a quarter of the width and 4 layers, so elementwise work and GEMMs keep
 * roughly the real proportions while a forward takes about a second on two cores.
 */
export const MID_TRANSFORMER_CONFIG = {
  ...REAL_TRANSFORMER_CONFIG,
  hidden_size: 1024,
  intermediate_size: 3072,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  num_hidden_layers: 4,
  vocab_size: 4096,
};

/** What `bench:gpu --size` builds and measures. Shapes are latent [T, H, W]. */
export interface BenchSize {
  readonly device: 'cpu' | 'gpu';
  readonly dtype: 'float32' | 'bfloat16';
  readonly transformer: Record<string, unknown>;
  readonly vae: Record<string, unknown>;
  readonly forwards: readonly (readonly [label: string, t: number, h: number, w: number])[];
  readonly t2i: { readonly width: number; readonly height: number; readonly steps: number };
  readonly vaeDecode: readonly [number, number, number];
}

export const BENCH_SIZES: Record<'tiny' | 'mid' | 'real', BenchSize> = {
  tiny: {
    device: 'cpu', dtype: 'float32', transformer: TINY_TRANSFORMER_CONFIG, vae: tinyVaeConfig(),
    forwards: [['tiny 17f', 5, 4, 6]], t2i: { width: 96, height: 64, steps: 3 }, vaeDecode: [5, 4, 6],
  },
  mid: {
    device: 'cpu', dtype: 'float32', transformer: MID_TRANSFORMER_CONFIG, vae: tinyVaeConfig(),
    forwards: [['720p image', 1, 45, 80]], t2i: { width: 1280, height: 720, steps: 4 }, vaeDecode: [5, 12, 20],
  },
  real: {
    device: 'gpu', dtype: 'bfloat16', transformer: REAL_TRANSFORMER_CONFIG, vae: realVaeConfig(),
    forwards: [['720p/189f', 48, 45, 80], ['480p/189f', 48, 30, 52]], t2i: { width: 1280, height: 720, steps: 50 }, vaeDecode: [48, 45, 80],
  },
};
