/**
 * Configs of the embedded tiny model: the Cosmos3-Nano architecture at toy width (same key names, same
 * structure, real latent channels and VAE factors), so every code path runs on a CPU in seconds.
 */
export const TINY_SEED = 20261127;

export const TINY_TRANSFORMER_CONFIG = {
  _class_name: 'Cosmos3OmniTransformer',
  // wide enough for every action domain (the widest, embodiment_b, has 30 values; the real model pads to 64)
  action_dim: 32,
  action_gen: true,
  attention_bias: false,
  attention_dropout: 0.0,
  base_fps: 24,
  enable_fps_modulation: true,
  head_dim: 32,
  hidden_act: 'silu',
  hidden_size: 128,
  intermediate_size: 192,
  latent_channel: 48,
  latent_patch_size: 2,
  num_attention_heads: 4,
  num_embodiment_domains: 32,
  num_hidden_layers: 2,
  num_key_value_heads: 2,
  patch_latent_dim: 192,
  qk_norm_for_text: true,
  rms_norm_eps: 1e-6,
  rope_axes_dim: [8, 4, 4],
  rope_scaling: null,
  rope_theta: 5000000.0,
  sound_gen: false,
  timestep_scale: 0.001,
  unified_3d_mrope_reset_spatial_ids: true,
  unified_3d_mrope_temporal_modality_margin: 15000,
  use_und_k_norm_for_gen: false,
  vocab_size: 512,
};

export function tinyVaeConfig(): Record<string, unknown> {
  // per-channel latent statistics: deterministic, spread like a trained VAE's
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < 48; c++) {
    mean.push(Math.round(Math.sin(c * 1.7) * 4000) / 10000);
    std.push(Math.round((0.8 + 0.4 * Math.cos(c * 0.9)) * 10000) / 10000);
  }
  return {
    _class_name: 'AutoencoderKLWan',
    attn_scales: [],
    base_dim: 6,
    decoder_base_dim: 8,
    dim_mult: [1, 2, 4, 4],
    dropout: 0.0,
    in_channels: 12,
    is_residual: true,
    latents_mean: mean,
    latents_std: std,
    num_res_blocks: 2,
    out_channels: 12,
    patch_size: 2,
    scale_factor_spatial: 16,
    scale_factor_temporal: 4,
    temperal_downsample: [false, true, true],
    z_dim: 48,
  };
}

export const TINY_SCHEDULER_CONFIG = {
  _class_name: 'UniPCMultistepScheduler',
  final_sigmas_type: 'zero',
  flow_shift: 10.0,
  lower_order_final: true,
  num_train_timesteps: 1000,
  predict_x0: true,
  prediction_type: 'flow_prediction',
  solver_order: 2,
  solver_type: 'bh2',
  timestep_spacing: 'linspace',
  use_flow_sigmas: true,
};

export const TINY_MODEL_INDEX = {
  _class_name: 'Cosmos3OmniPipeline',
  default_use_system_prompt: true,
  scheduler: ['diffusers', 'UniPCMultistepScheduler'],
  text_tokenizer: ['transformers', 'TokenizersBackend'],
  transformer: ['diffusers', 'Cosmos3OmniTransformer'],
  use_native_flow_schedule: false,
  vae: ['diffusers', 'AutoencoderKLWan'],
};
