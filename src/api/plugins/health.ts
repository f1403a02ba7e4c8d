import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotReadyError, ShuttingDownError } from '../../shared/index.js';
import { ERROR_BODY, HEALTH } from '../schemas/response.js';

/** GET /health/live (the process answers) and GET /health/ready (workers loaded and warmed up, not closing). */
export const healthPlugin = fp(
  async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get('/health/live', { schema: { tags: ['health'], response: { 200: HEALTH } } }, async () => ({ status: 'ok' as const }));
    r.get(
      '/health/ready',
      { schema: { tags: ['health'], response: { 200: HEALTH, 503: ERROR_BODY } } },
      async () => {
        if (!app.jobQueue.accepting) throw new ShuttingDownError();
        const workers = { ready: app.pool.readyCount, total: app.pool.size };
        if (!app.pool.started || workers.ready === 0) throw new NotReadyError();
        return { status: 'ready' as const, workers };
      },
    );
  },
  { fastify: '5.x', name: 'c3s-health', decorators: { fastify: ['pool', 'jobQueue'] } },
);
