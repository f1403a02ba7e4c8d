import type { MropeConfig } from './positions/index.js';
import type { UniPcOptions } from './scheduler/index.js';

/** What the pipelines need to know about the model, as data (the engine reads it from the checkpoint configs). */
export interface ModelFacts {
  /** VAE z_dim: latent channels C of [1, C, T, H, W] (48). */
  readonly latentChannels: number;
  /** Padded action width of the transformer (`action_dim`: 64 real, 32 the embedded tiny model, 16 the golden fixtures). */
  readonly actionDim: number;
  /** VAE compression: pixel frames per latent frame (4) and pixels per latent row/column (16). */
  readonly vaeTemporalFactor: number;
  readonly vaeSpatialFactor: number;
  /** Transformer latent patch size (2). */
  readonly patchSize: number;
  readonly mrope: MropeConfig;
  readonly schedule: {
    /** scheduler_config.json `num_train_timesteps` (1000). */
    readonly numTrainTimesteps: number;
    /** model_index.json `use_native_flow_schedule`. */
    readonly native: boolean;
    readonly solver: UniPcOptions;
  };
}

/** The checkpoint config fields the facts come from (transformer, vae, scheduler configs and model_index.json). */
export interface ModelConfigs {
  readonly transformer: {
    readonly action_dim: number;
    readonly latent_patch_size: number;
    readonly base_fps: number;
    readonly unified_3d_mrope_temporal_modality_margin: number;
    readonly sound_latent_fps: number;
  };
  readonly vae: { readonly z_dim: number; readonly scale_factor_temporal?: number; readonly scale_factor_spatial?: number };
  readonly scheduler: { readonly num_train_timesteps: number; readonly solver_order: number; readonly lower_order_final: boolean };
  readonly modelIndex?: { readonly use_native_flow_schedule?: boolean };
}

/** Wan2.2 VAE compression when vae/config.json does not state it. */
const WAN22_TEMPORAL_FACTOR = 4;
const WAN22_SPATIAL_FACTOR = 16;

export function modelFactsFromConfigs(configs: ModelConfigs): ModelFacts {
  const { transformer: t, vae, scheduler: s } = configs;
  const vaeTemporalFactor = vae.scale_factor_temporal ?? WAN22_TEMPORAL_FACTOR;
  return {
    latentChannels: vae.z_dim,
    actionDim: t.action_dim,
    vaeTemporalFactor,
    vaeSpatialFactor: vae.scale_factor_spatial ?? WAN22_SPATIAL_FACTOR,
    patchSize: t.latent_patch_size,
    mrope: {
      baseFps: t.base_fps,
      margin: t.unified_3d_mrope_temporal_modality_margin,
      temporalFactor: vaeTemporalFactor,
      soundLatentFps: t.sound_latent_fps,
    },
    schedule: {
      numTrainTimesteps: s.num_train_timesteps,
      native: configs.modelIndex?.use_native_flow_schedule ?? false,
      solver: { order: s.solver_order, lowerOrderFinal: s.lower_order_final },
    },
  };
}
