import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { QueueFullError, RouteNotFoundError } from '../../shared/index.js';
import { errorReply } from '../error-body.js';

export interface ErrorsPluginOptions {
  readonly bodyLimitBytes: number;
  /** Seconds for Retry-After on 429 (queue full). */
  readonly retryAfterSeconds: () => number;
}

/** Seconds for Retry-After on 503 (not ready, shutting down). */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/**
 * One error shape for every route: {"error": {code, message, field}}; validation failures become
 * C3S_ERR_INVALID_FIELD naming the field; 429/503 carry Retry-After; 5xx are logged with their cause and
 * answered without internals.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance, opts: ErrorsPluginOptions) => {
    app.setErrorHandler((err, request, reply) => {
      const out = errorReply(err, { bodyLimitBytes: opts.bodyLimitBytes, requestId: request.id });
      if (out.internal) request.log.error({ err }, 'request failed');
      else request.log.info({ code: out.body.error.code, field: out.body.error.field }, out.body.error.message);
      if (out.statusCode === 429) {
        reply.header('retry-after', String(err instanceof QueueFullError ? opts.retryAfterSeconds() : UNAVAILABLE_RETRY_AFTER_S));
      }
      if (out.statusCode === 503) reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      return reply.code(out.statusCode).send(out.body);
    });
    app.setNotFoundHandler((request, reply) => {
      const out = errorReply(new RouteNotFoundError(request.method, request.url.split('?')[0]), { bodyLimitBytes: opts.bodyLimitBytes });
      return reply.code(404).send(out.body);
    });
  },
  { fastify: '5.x', name: 'c3s-errors' },
);
