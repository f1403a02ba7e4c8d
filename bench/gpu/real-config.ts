import { tinyVaeConfig } from '../../src/convert/tiny/tiny-config.js';

/**
 * Cosmos3-Nano sizes (SPEC §3, §5) for the GPU benchmark: the transformer at full size and the Wan2.2 VAE
 * real config (704.7M parameters). Weights are random; the benchmark measures time and memory, not quality.
 */
export const REAL_TRANSFORMER_CONFIG = {
  _class_name: 'Cosmos3OmniTransformer',
  action_dim: 64,
  action_gen: true,
  attention_bias: false,
  base_fps: 24,
  enable_fps_modulation: true,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 12288,
  latent_channel: 48,
  latent_patch_size: 2,
  num_attention_heads: 32,
  num_embodiment_domains: 32,
  num_hidden_layers: 36,
  num_key_value_heads: 8,
  qk_norm_for_text: true,
  rms_norm_eps: 1e-6,
  rope_axes_dim: [24, 20, 20],
  rope_theta: 5000000.0,
  sound_gen: false,
  timestep_scale: 0.001,
  unified_3d_mrope_reset_spatial_ids: true,
  unified_3d_mrope_temporal_modality_margin: 15000,
  use_und_k_norm_for_gen: false,
  vocab_size: 151936,
};

/** The tiny VAE's config at the real widths (base 160, decoder base 256): the same structure and latent statistics. */
export function realVaeConfig(): Record<string, unknown> {
  return { ...tinyVaeConfig(), base_dim: 160, decoder_base_dim: 256 };
}
