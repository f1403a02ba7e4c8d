import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Job } from '../../jobs/index.js';
import { NotReadyError } from '../../shared/index.js';
import { predictBody } from '../present.js';
import { PREDICT_BODY, withoutNullFields, type PredictBody } from '../schemas/request.js';
import { ERROR_BODY, PREDICT_RESPONSE } from '../schemas/response.js';
import { toJobSpec } from '../to-job.js';

export const SEED_HEADER = 'x-cosmos3-seed';

/** 503 until the workers are loaded and warmed up (the queue refuses on its own while shutting down). */
export function assertReady(app: FastifyInstance): void {
  if (!app.pool.started) throw new NotReadyError();
}

/**
 * A request body → a queued job (refused while not ready, or when the queue is full or closing); the drawn or
 * given seed goes out in the x-cosmos3-seed header. `retain`: kept for /v1/jobs polling after it ends.
 */
export function submitRequest(app: FastifyInstance, body: PredictBody, request: FastifyRequest, reply: FastifyReply, retain: boolean): Job {
  assertReady(app);
  const spec = toJobSpec(body, app.drawSeed);
  const job = app.jobQueue.submit(spec, { retain, log: request.log });
  reply.header(SEED_HEADER, String(spec.seed));
  return job;
}

/** preValidation of the request bodies: a top-level field sent as null counts as absent. */
export async function dropNullFields(request: FastifyRequest): Promise<void> {
  request.body = withoutNullFields(request.body);
}

/** Wait for a job; a client that goes away first cancels it (it stops at its next step). */
export async function awaitJob(app: FastifyInstance, job: Job, reply: FastifyReply): Promise<void> {
  const onClose = (): void => {
    if (!reply.raw.writableFinished) app.jobQueue.cancel(job, 'disconnect');
  };
  reply.raw.once('close', onClose);
  try {
    await job.done;
  } finally {
    reply.raw.off('close', onClose);
  }
}

/**
 * POST /predict: the hosted endpoint's contract; blocks until the job is done. Also served at the hosted
 * endpoint's own path, /environments/<name>/predict (any name: one deployment here), so that a client built for
 * it only changes its host and key.
 */
export async function predictRoutes(app: FastifyInstance): Promise<void> {
  const route = (url: string, summary: string): void => {
    app.withTypeProvider<ZodTypeProvider>().post(
      url,
      {
        preValidation: dropNullFields,
        schema: {
          tags: ['predict'],
          summary,
          body: PREDICT_BODY,
          response: { 200: PREDICT_RESPONSE, '4xx': ERROR_BODY, '5xx': ERROR_BODY },
        },
      },
      async (request, reply) => {
        const job = submitRequest(app, request.body, request, reply, false);
        await awaitJob(app, job, reply);
        if (job.state !== 'succeeded') throw job.error;
        return predictBody(job);
      },
    );
  };
  route('/predict', 'Run one request and wait for its result (drop-in for the hosted endpoint)');
  route('/environments/:environment/predict', 'The same as /predict, at the hosted endpoint\'s path (the environment name is ignored)');
}
