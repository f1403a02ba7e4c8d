import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CheckpointConfigError } from '../shared/index.js';

/** The transformer config.json fields the converter and the pipelines rely on. */
const RawTransformerConfigSchema = z.object({
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive(),
  head_dim: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  rms_norm_eps: z.number().positive(),
  rope_theta: z.number().positive(),
  rope_axes_dim: z.array(z.number().int().nonnegative()).length(3).nullish(),
  latent_channel: z.number().int().positive(),
  latent_patch_size: z.number().int().positive(),
  vocab_size: z.number().int().positive(),
  base_fps: z.number().positive(),
  enable_fps_modulation: z.boolean().default(true),
  unified_3d_mrope_temporal_modality_margin: z.number().int().nonnegative(),
  unified_3d_mrope_reset_spatial_ids: z.boolean().default(true),
  timestep_scale: z.number().positive().default(0.001),
  action_gen: z.boolean().default(false),
  action_dim: z.number().int().positive().optional(),
  num_embodiment_domains: z.number().int().positive().optional(),
  sound_gen: z.boolean().default(false),
  sound_dim: z.number().int().positive().optional(),
  sound_latent_fps: z.number().positive().optional(),
  attention_bias: z.boolean().default(false),
  qk_norm_for_text: z.boolean().default(true),
  use_und_k_norm_for_gen: z.boolean().default(false),
  hidden_act: z.string().default('silu'),
  rope_scaling: z.object({ mrope_section: z.array(z.number().int().nonnegative()).length(3).optional() }).passthrough().nullish(),
}).passthrough();

/** The mRoPE sections [t, h, w] as the reference reads them: rope_axes_dim, else rope_scaling.mrope_section, else [24, 20, 20]. */
export const TransformerConfigSchema = RawTransformerConfigSchema.transform((c) => ({
  ...c,
  rope_axes_dim: c.rope_axes_dim ?? c.rope_scaling?.mrope_section ?? [24, 20, 20],
}));
export type TransformerConfig = z.infer<typeof TransformerConfigSchema>;

/** The VAE config.json fields (Wan2.2 AutoencoderKLWan, residual variant). */
export const VaeConfigSchema = z.object({
  base_dim: z.number().int().positive(),
  decoder_base_dim: z.number().int().positive().nullable().optional(),
  z_dim: z.number().int().positive(),
  dim_mult: z.array(z.number().int().positive()).min(1),
  num_res_blocks: z.number().int().positive(),
  temperal_downsample: z.array(z.boolean()),
  is_residual: z.boolean().default(false),
  in_channels: z.number().int().positive().default(3),
  out_channels: z.number().int().positive().default(3),
  patch_size: z.number().int().positive().nullable().default(1),
  scale_factor_temporal: z.number().int().positive().default(4),
  scale_factor_spatial: z.number().int().positive().default(8),
  latents_mean: z.array(z.number()),
  latents_std: z.array(z.number()),
}).passthrough();
export type VaeConfig = z.infer<typeof VaeConfigSchema>;

/** A value the flow UniPC solver (src/pipeline/scheduler) implements; any other is refused by name. */
const only = <T extends string | boolean>(value: T, dflt: T) =>
  z.unknown().optional().transform((v, ctx) => {
    const got = v ?? dflt;
    if (got !== value) ctx.addIssue({ code: 'custom', message: `only ${JSON.stringify(value)} is supported, got ${JSON.stringify(got)}${v === undefined ? " (diffusers' default)" : ''}` });
    return value;
  });
/** An option the solver does not implement: absent, null, false or an empty list. */
const off = z.unknown().optional().transform((v, ctx) => {
  if (v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0)) {
    ctx.addIssue({ code: 'custom', message: `not supported (got ${JSON.stringify(v)})` });
  }
  return undefined;
});

/**
 * scheduler_config.json (diffusers UniPCMultistepScheduler). Absent fields take diffusers' defaults; every field
 * that changes the math must be a value the solver implements (Cosmos3: flow sigmas, flow prediction, data
 * prediction, bh2, order 2, corrector on every step, last sigma 0), so an unsupported scheduler fails at convert
 * and at load instead of sampling with other math.
 */
export const SchedulerConfigSchema = z.object({
  num_train_timesteps: z.number().int().positive().default(1000),
  flow_shift: z.number().positive().default(1),
  solver_order: z.union([z.literal(1), z.literal(2)], { message: 'only 1 and 2 are supported' }).default(2),
  lower_order_final: z.boolean().default(true),
  prediction_type: only('flow_prediction', 'epsilon'),
  use_flow_sigmas: only(true, false),
  predict_x0: only(true, true),
  solver_type: only('bh2', 'bh2'),
  final_sigmas_type: only('zero', 'zero'),
  use_karras_sigmas: off,
  use_exponential_sigmas: off,
  use_beta_sigmas: off,
  use_dynamic_shifting: off,
  shift_terminal: off,
  thresholding: off,
  disable_corrector: off,
  solver_p: off,
}).passthrough();
export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;

/** Read and validate a component config; errors name the file and the field. */
export async function readConfig<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new CheckpointConfigError(file, 'missing or not valid JSON', { cause });
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CheckpointConfigError(file, `${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

/** Checks the converter makes before building a transformer graph (features it does not implement). */
export function checkTransformerSupported(file: string, cfg: TransformerConfig): void {
  const bad = (field: string, rule: string) => {
    throw new CheckpointConfigError(file, `${field}: ${rule}`);
  };
  if (cfg.hidden_act !== 'silu') bad('hidden_act', 'only silu is supported');
  if (cfg.attention_bias) bad('attention_bias', 'attention projections with bias are not supported');
  if (!cfg.qk_norm_for_text) bad('qk_norm_for_text', 'only true is supported');
  if (cfg.use_und_k_norm_for_gen) bad('use_und_k_norm_for_gen', 'only false is supported');
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) bad('num_key_value_heads', 'must divide num_attention_heads');
  if (cfg.head_dim % 2 !== 0) bad('head_dim', 'must be even');
  const [t, h, w] = cfg.rope_axes_dim;
  if (t + h + w !== cfg.head_dim / 2) bad('rope_axes_dim', `must sum to head_dim/2 = ${cfg.head_dim / 2}`);
  if (cfg.action_gen && (!cfg.action_dim || !cfg.num_embodiment_domains)) bad('action_dim', 'action_gen needs action_dim and num_embodiment_domains');
  if (cfg.sound_gen && (!cfg.sound_dim || !cfg.sound_latent_fps)) bad('sound_dim', 'sound_gen needs sound_dim and sound_latent_fps');
}
