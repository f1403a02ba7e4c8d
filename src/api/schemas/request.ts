import { z } from 'zod';
import {
  ACTION_TIERS,
  ASPECT_RATIOS,
  DOMAINS,
  GUIDANCE_RANGE,
  MAX_FRAMES,
  MIN_VIDEO_FRAMES,
  MODE_DEFAULTS,
  RESOLUTIONS,
  SEED_MAX,
  STEPS_RANGE,
  type Resolution,
} from '../../config/index.js';
import { MODEL_MODES, type ModelMode } from '../../shared/index.js';

/**
 * POST /predict and POST /v1/jobs bodies (SPEC §2): one zod object per model_mode in a discriminated union
 * (text2video when model_mode is absent). Unknown keys are stripped; every failure is one issue whose path is
 * the field and whose message is the rule. Cross-field rules (frame limit per tier, raw_action_dim vs domain)
 * are refinements on the mode's object; defaults and rounding are applied later by to-job.ts.
 */

type Issue = { readonly input?: unknown };
/** Message for a wrong type or a missing value. */
const typed = (what: string) => (issue: Issue) => (issue.input === undefined ? 'is required' : `must be ${what}`);

/** Message for a value outside an enumeration (or a missing one). */
const oneOf = (message: string) => (issue: Issue) => (issue.input === undefined ? 'is required' : message);

const intIn = (min: number, max: number) =>
  z
    .int({ error: typed('an integer') })
    .min(min, { error: `must be an integer in ${min}..${max}` })
    .max(max, { error: `must be an integer in ${min}..${max}` });

/** A number in [min, max]; `rule` is the message for a value outside. */
const numberIn = (min: number, max: number, rule: string) =>
  z
    .number({ error: typed('a number') })
    .min(min, { error: rule })
    .max(max, { error: rule });

const text = (description: string) => z.string({ error: typed('a string') }).describe(description);
const nonEmpty = (description: string) =>
  z.string({ error: typed('a non-empty string') }).refine((s) => s.trim().length > 0, { error: 'must not be empty' }).describe(description);

export const DOMAIN_NAMES = Object.keys(DOMAINS) as [string, ...string[]];
export const ACTION_CHUNK_RANGE = [1, 256] as const;
export const FPS_MAX = 240;
/**
 * The contract says only fps > 0; below ~1e-5 fps the MP4 muxer cannot hold the frame durations and the job
 * would fail at the very end with a 500 (ffmpeg refuses the durations). 0.001 keeps a 100× margin.
 */
export const FPS_MIN = 0.001;
/**
 * The contract says only shift > 0. The schedule σ' = shift·σ / (1 + (shift − 1)·σ) in float32 stops being
 * strictly decreasing near σ = 1 from shift ≈ 1e4 (100 steps): the solver then returns NaN. 1000 keeps a 10×
 * margin; 0.001 mirrors it (checked down to 1e-6).
 */
export const SHIFT_MIN = 0.001;
export const SHIFT_MAX = 1000;

/** The largest num_frames a tier accepts (its limit, after rounding up to 4k+1). */
export function maxRequestFrames(resolution: Resolution): number {
  return Math.floor((MAX_FRAMES[resolution] - 1) / 4) * 4 + 1;
}

const common = {
  prompt: nonEmpty('What to generate; long prompts are truncated by tokens, not rejected.'),
  negative_prompt: text('Negative prompt for classifier-free guidance ("" when absent, in every mode).').optional(),
  fps: numberIn(FPS_MIN, FPS_MAX, `must be ≥ ${FPS_MIN} and ≤ ${FPS_MAX}`)
    .describe('Frames per second of the output (and of the prompt metadata); 10–30 recommended.')
    .optional(),
  seed: intIn(0, SEED_MAX).describe('Noise seed; drawn at random when absent and returned in x-cosmos3-seed.').optional(),
  num_steps: intIn(STEPS_RANGE[0], STEPS_RANGE[1]).describe('Denoising steps.').optional(),
  guidance: numberIn(GUIDANCE_RANGE[0], GUIDANCE_RANGE[1], `must be in ${GUIDANCE_RANGE[0]}..${GUIDANCE_RANGE[1]}`)
    .describe('Classifier-free guidance scale; 1 skips the unconditional pass.')
    .optional(),
  shift: numberIn(SHIFT_MIN, SHIFT_MAX, `must be between ${SHIFT_MIN} and ${SHIFT_MAX}`)
    .describe(`Flow shift of the sigma schedule, ${SHIFT_MIN}..${SHIFT_MAX}.`)
    .optional(),
};

const vision = {
  resolution: z
    .enum(RESOLUTIONS, { error: `must be one of ${RESOLUTIONS.map((r) => `"${r}"`).join(', ')}` })
    .describe('Resolution tier (pixel size from the tier × aspect table).')
    .optional(),
  aspect_ratio: z
    .enum(ASPECT_RATIOS, { error: `must be one of ${ASPECT_RATIOS.map((r) => `"${r}"`).join(', ')}` })
    .describe('Aspect ratio "W,H".')
    .optional(),
};

const videoFrames = z
  .int({ error: typed('an integer') })
  .min(MIN_VIDEO_FRAMES, { error: `must be an integer ≥ ${MIN_VIDEO_FRAMES}` })
  .describe('Pixel frames, rounded up to 4k+1; at most 397 at 256, 297 at 480, 197 at 720/768.')
  .optional();

function checkFrames(mode: ModelMode) {
  return (v: { resolution?: Resolution; num_frames?: number }, ctx: z.RefinementCtx): void => {
    if (v.num_frames === undefined) return;
    const resolution = v.resolution ?? MODE_DEFAULTS[mode].resolution;
    const max = maxRequestFrames(resolution);
    if (v.num_frames > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['num_frames'],
        message: `must be an integer in ${MIN_VIDEO_FRAMES}..${max} at resolution "${resolution}" (frames are rounded up to 4k+1)`,
        input: v.num_frames,
      });
    }
  };
}

const visionPath = nonEmpty('Conditioning image or video: an http(s) URL or a path inside an allowed input root.');

const action = {
  vision_path: visionPath,
  image_size: z
    .literal(ACTION_TIERS, { error: oneOf(`must be one of ${ACTION_TIERS.join(', ')}`) })
    .describe('Resolution tier of the action canvas.')
    .optional(),
  action_chunk_size: intIn(ACTION_CHUNK_RANGE[0], ACTION_CHUNK_RANGE[1]).describe('Action steps; pixel frames = chunk + 1.').optional(),
  raw_action_dim: intIn(1, 64).describe("Action width of the output; must equal the domain's.").optional(),
  domain_name: z
    .enum(DOMAIN_NAMES, { error: oneOf(`must be one of ${DOMAIN_NAMES.join(', ')}`) })
    .describe('Embodiment domain.'),
};

function checkActionDim(v: { domain_name: string; raw_action_dim?: number }, ctx: z.RefinementCtx): void {
  const domain = DOMAINS[v.domain_name];
  if (v.raw_action_dim !== undefined && domain !== undefined && v.raw_action_dim !== domain.rawDim) {
    ctx.addIssue({
      code: 'custom',
      path: ['raw_action_dim'],
      message: `must be ${domain.rawDim} for domain "${v.domain_name}" (got ${v.raw_action_dim})`,
      input: v.raw_action_dim,
    });
  }
}

export const TEXT2IMAGE_BODY = z
  .object({
    model_mode: z.literal('text2image'),
    ...common,
    ...vision,
    num_frames: z.literal(1, { error: oneOf('must be 1 for text2image') }).optional(),
  })
  .meta({ id: 'Text2ImageRequest', description: 'Render one still image (JPEG).' });

export const TEXT2VIDEO_BODY = z
  .object({
    model_mode: z.literal('text2video').optional().default('text2video'),
    ...common,
    ...vision,
    num_frames: videoFrames,
  })
  .superRefine(checkFrames('text2video'))
  .meta({ id: 'Text2VideoRequest', description: 'Generate a video (MP4). The default mode.' });

export const IMAGE2VIDEO_BODY = z
  .object({
    model_mode: z.literal('image2video'),
    ...common,
    ...vision,
    num_frames: videoFrames,
    vision_path: visionPath,
  })
  .superRefine(checkFrames('image2video'))
  .meta({ id: 'Image2VideoRequest', description: 'Animate a still image (MP4).' });

export const FORWARD_DYNAMICS_BODY = z
  .object({
    model_mode: z.literal('forward_dynamics'),
    ...common,
    ...action,
    action_path: nonEmpty('Action file: JSON [T][D] floats, an http(s) URL or a path inside an allowed input root.'),
  })
  .superRefine(checkActionDim)
  .meta({ id: 'ForwardDynamicsRequest', description: 'Predict the video rollout from a first observation and actions (MP4).' });

export const INVERSE_DYNAMICS_BODY = z
  .object({ model_mode: z.literal('inverse_dynamics'), ...common, ...action })
  .superRefine(checkActionDim)
  .meta({ id: 'InverseDynamicsRequest', description: 'Infer the actions behind an observed video.' });

export const POLICY_BODY = z
  .object({ model_mode: z.literal('policy'), ...common, ...action })
  .superRefine(checkActionDim)
  .meta({ id: 'PolicyRequest', description: 'Predict the actions (and video) that reach the goal in the prompt.' });

export const PREDICT_BODY = z.discriminatedUnion(
  'model_mode',
  [TEXT2IMAGE_BODY, TEXT2VIDEO_BODY, IMAGE2VIDEO_BODY, FORWARD_DYNAMICS_BODY, INVERSE_DYNAMICS_BODY, POLICY_BODY],
  { error: oneOf(`must be one of ${MODEL_MODES.join(', ')} (text2video when absent)`) },
);

export type PredictBody = z.output<typeof PREDICT_BODY>;

/**
 * A request body's top-level fields sent as JSON null, dropped before validation: null counts as absent (Python
 * clients send `None` for "use the default"). A required field sent as null is then reported as required.
 */
export function withoutNullFields(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const entries = Object.entries(body);
  return entries.some(([, v]) => v === null) ? Object.fromEntries(entries.filter(([, v]) => v !== null)) : body;
}

export const JOB_PARAMS = z.object({
  id: z.string({ error: typed('a string') }).min(1, { error: 'must not be empty' }).max(64, { error: 'must be a job id' }),
});
