import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';

/** The OpenAPI document generated from the zod route schemas, with the UI at /docs (JSON at /docs/json). */
export const docsPlugin = fp(
  async (app: FastifyInstance, opts: { version: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'cosmos3-serve',
          description: 'Self-hosted Cosmos3-Nano inference, request/response compatible with the hosted /predict endpoint.',
          version: opts.version,
        },
        components: {
          securitySchemes: {
            apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"Api-Key <key>" or "Bearer <key>" (when API_KEY is set)' },
          },
        },
        security: [{ apiKey: [] }],
      },
      transform: createJsonSchemaTransform({ skipList: ['/docs', '/docs/*', '/docs/json', '/docs/yaml', '/docs/static/*', '/docs/uiConfig', '/docs/initOAuth'] }),
      transformObject: createJsonSchemaTransformObject({}),
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { fastify: '5.x', name: 'c3s-docs' },
);
