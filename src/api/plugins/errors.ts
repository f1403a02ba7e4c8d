import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { MethodNotAllowedError, QueueFullError, RouteNotFoundError } from '../../shared/index.js';
import { errorReply } from '../error-body.js';

export interface ErrorsPluginOptions {
  readonly bodyLimitBytes: number;
  /** Seconds for Retry-After on 429 (queue full). */
  readonly retryAfterSeconds: () => number;
}

/** The methods a 405's Allow header may name (the ones Fastify routes), in the order it lists them. */
const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;

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
    // a path the router knows with other methods is a 405 with Allow (RFC 9110 §15.5.6), not a 404; a path it
    // knows with this very method is a route that found nothing (a missing /docs/static file): 404
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0];
      const allowed = HTTP_METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
      const found = (allowed as readonly string[]).includes(request.method);
      const err = allowed.length > 0 && !found ? new MethodNotAllowedError(request.method, path, allowed.join(', ')) : new RouteNotFoundError(request.method, path);
      const out = errorReply(err, { bodyLimitBytes: opts.bodyLimitBytes, requestId: request.id });
      if (out.statusCode === 405) reply.header('allow', allowed.join(', '));
      return reply.code(out.statusCode).send(out.body);
    });
  },
  { fastify: '5.x', name: 'c3s-errors' },
);
