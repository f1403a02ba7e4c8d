import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { UnauthorizedError } from '../../shared/index.js';

export interface AuthPluginOptions {
  /** Unset: auth off. */
  readonly apiKey?: string;
}

const SCHEME_RE = /^(?:Api-Key|Bearer)[ \t]+(\S+)[ \t]*$/i;
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** True when `header` carries `Api-Key <key>` or `Bearer <key>` for `expected` (constant time over the key hashes). */
export function checkApiKey(header: string | undefined, expected: string): boolean {
  const match = header === undefined ? null : SCHEME_RE.exec(header);
  const given = digest(match?.[1] ?? '');
  const ok = timingSafeEqual(given, digest(expected));
  return ok && match !== null;
}

/** Everything but /health/* needs the API key when one is configured; 401 otherwise. */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: AuthPluginOptions) => {
    const apiKey = opts.apiKey;
    if (apiKey === undefined) return;
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.startsWith('/health/')) return;
      if (!checkApiKey(request.headers.authorization, apiKey)) {
        reply.header('www-authenticate', 'Bearer');
        throw new UnauthorizedError();
      }
    });
  },
  { fastify: '5.x', name: 'c3s-auth' },
);
