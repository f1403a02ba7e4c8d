import { z } from 'zod';
import { JOB_STATES } from '../../jobs/index.js';
import { MODEL_MODES } from '../../shared/index.js';

/** Response bodies, as the hosted endpoint returns them (/predict) and for the job API. */

export const ERROR_BODY = z
  .object({
    error: z.object({
      code: z.string().describe('Stable C3S_ERR_* code (docs/errors.md).'),
      message: z.string(),
      field: z.string().nullable().describe('The request field at fault, when there is one.'),
    }),
  })
  .meta({ id: 'Error' });

export const SAMPLE_OUTPUTS = z.object({
  status: z.literal('success'),
  outputs: z.array(
    z.object({
      content: z.object({ action: z.array(z.array(z.number())).describe('[chunk][raw_action_dim]') }),
      files: z.array(z.string()),
    }),
  ),
});

export const PREDICT_RESPONSE = z
  .object({
    name: z.string().describe('"<mode>-seed<seed>-<short id>"'),
    model_mode: z.enum(MODEL_MODES),
    format: z.enum(['jpg', 'mp4']),
    data: z.string().describe('Base64 media: the JPEG/MP4 generated, or the input video re-encoded (inverse_dynamics, policy).'),
    sample_outputs: SAMPLE_OUTPUTS.optional().describe('inverse_dynamics and policy only.'),
  })
  .meta({ id: 'PredictResponse' });

export type PredictResponse = z.output<typeof PREDICT_RESPONSE>;

const PROGRESS = z.object({ stage: z.string(), step: z.number(), total_steps: z.number() });

export const JOB_STATUS = z
  .object({
    id: z.string(),
    name: z.string(),
    model_mode: z.enum(MODEL_MODES),
    seed: z.number(),
    state: z.enum(JOB_STATES),
    queue_position: z.number().nullable().describe('1 = next to run; null unless queued.'),
    progress: PROGRESS.nullable(),
    cancel_requested: z.boolean(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    timings: z.object({
      queued_s: z.number().nullable(),
      running_s: z.number().nullable(),
      stages: z.record(z.string(), z.number()),
    }),
    error: ERROR_BODY.shape.error.nullable(),
  })
  .meta({ id: 'JobStatus' });

export type JobStatusBody = z.output<typeof JOB_STATUS>;

export const JOB_CREATED = z.object({ id: z.string(), state: z.enum(JOB_STATES), queue_position: z.number().nullable() }).meta({ id: 'JobCreated' });

export const HEALTH = z.object({
  status: z.enum(['ok', 'ready', 'not_ready']),
  workers: z.object({ ready: z.number(), total: z.number() }).optional(),
});
