import type { Job, JobQueue } from '../jobs/index.js';
import { assert } from '../shared/index.js';
import { errorReply } from './error-body.js';
import type { JobStatusBody, PredictResponse } from './schemas/response.js';

/** A finished job → the hosted endpoint's response body, key for key. */
export function predictBody(job: Job): PredictResponse {
  const output = job.output;
  assert(output !== undefined, `job ${job.id} has an output`);
  const body: PredictResponse = {
    name: job.name,
    model_mode: job.spec.mode,
    format: output.format,
    data: output.data.toString('base64'),
  };
  if (output.actions !== undefined) {
    body.sample_outputs = { status: 'success', outputs: [{ content: { action: output.actions }, files: [] }] };
  }
  return body;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** GET /v1/jobs/:id body. */
export function jobStatus(job: Job, queue: JobQueue, now: number, bodyLimitBytes: number): JobStatusBody {
  const p = job.progress;
  return {
    id: job.id,
    name: job.name,
    model_mode: job.spec.mode,
    seed: job.spec.seed,
    state: job.state,
    queue_position: job.state === 'queued' ? queue.position(job) : null,
    progress: p ? { stage: p.stage, step: p.step, total_steps: p.totalSteps } : null,
    cancel_requested: job.stopReason !== undefined,
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    timings: {
      queued_s: ((job.startedAt ?? job.finishedAt ?? now) - job.createdAt) / 1000,
      running_s: job.startedAt === undefined ? null : ((job.finishedAt ?? now) - job.startedAt) / 1000,
      stages: { ...(job.output?.timings ?? job.stageTimings ?? {}) },
    },
    error: job.error && job.state !== 'succeeded' ? errorReply(job.error, { bodyLimitBytes }).body.error : null,
  };
}
