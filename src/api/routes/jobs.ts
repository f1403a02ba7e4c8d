import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { isTerminal, type Job } from '../../jobs/index.js';
import { JobNotFinishedError, JobNotFoundError } from '../../shared/index.js';
import { jobStatus, predictBody } from '../present.js';
import { JOB_PARAMS, PREDICT_BODY } from '../schemas/request.js';
import { ERROR_BODY, JOB_CREATED, JOB_STATUS, PREDICT_RESPONSE } from '../schemas/response.js';
import { dropNullFields, SEED_HEADER, submitRequest } from './predict.js';
import { streamJobEvents } from './job-events.js';

/** The async job API: submit, status, result, cancel, and a Server-Sent Events stream of progress. */
export async function jobRoutes(app: FastifyInstance): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const find = (id: string): Job => {
    const job = app.jobStore.get(id);
    if (job === undefined || !job.retain) throw new JobNotFoundError(id);
    return job;
  };
  const status = (job: Job) => jobStatus(job, app.jobQueue, app.now(), app.serverConfig.bodyLimitBytes);

  r.post(
    '/v1/jobs',
    {
      preValidation: dropNullFields,
      schema: {
        tags: ['jobs'],
        summary: 'Queue a request; poll GET /v1/jobs/:id or stream /events, then fetch /result',
        body: PREDICT_BODY,
        response: { 202: JOB_CREATED, '4xx': ERROR_BODY, '5xx': ERROR_BODY },
      },
    },
    async (request, reply) => {
      const job = submitRequest(app, request.body, request, reply, true);
      reply.header('location', `/v1/jobs/${job.id}`);
      return reply.code(202).send({ id: job.id, state: job.state, queue_position: app.jobQueue.position(job) });
    },
  );

  r.get(
    '/v1/jobs/:id',
    { schema: { tags: ['jobs'], summary: 'Job state, queue position, progress and timings', params: JOB_PARAMS, response: { 200: JOB_STATUS, '4xx': ERROR_BODY } } },
    async (request) => status(find(request.params.id)),
  );

  r.get(
    '/v1/jobs/:id/result',
    {
      schema: {
        tags: ['jobs'],
        summary: 'The /predict response body of a finished job (409 while queued or running; the error when it failed)',
        params: JOB_PARAMS,
        response: { 200: PREDICT_RESPONSE, '4xx': ERROR_BODY, '5xx': ERROR_BODY },
      },
    },
    async (request, reply) => {
      const job = find(request.params.id);
      if (!isTerminal(job.state)) {
        reply.header('retry-after', '1');
        throw new JobNotFinishedError(job.id, job.state);
      }
      reply.header(SEED_HEADER, String(job.spec.seed));
      if (job.state !== 'succeeded') throw job.error;
      return predictBody(job);
    },
  );

  r.delete(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel: a queued job at once (200), a running one at its next step (202)',
        params: JOB_PARAMS,
        response: { 200: JOB_STATUS, 202: JOB_STATUS, '4xx': ERROR_BODY },
      },
    },
    async (request, reply) => {
      const job = find(request.params.id);
      app.jobQueue.cancel(job, 'cancelled');
      return reply.code(isTerminal(job.state) ? 200 : 202).send(status(job));
    },
  );

  r.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Server-Sent Events: a "state" event now, "progress" on every change, a final "state" event, then the end',
        params: JOB_PARAMS,
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      const job = find(request.params.id);
      streamJobEvents(job, request, reply, status);
    },
  );
}
