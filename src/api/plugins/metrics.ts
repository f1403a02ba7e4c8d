import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** GET /metrics (Prometheus text) and the HTTP duration histogram, from the app's `metrics` decorator. */
export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      app.metrics.httpDuration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', { schema: { tags: ['ops'], hide: false } }, async (_request, reply) => {
      const { contentType, body } = await app.metrics.text();
      return reply.type(contentType).send(body);
    });
  },
  { fastify: '5.x', name: 'c3s-metrics', decorators: { fastify: ['metrics'] } },
);
