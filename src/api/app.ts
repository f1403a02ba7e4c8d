import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger as PinoLogger } from 'pino';
import { projectRoot, type ServerConfig } from '../config/index.js';
import {
  JobQueue,
  JobStore,
  createRunJob,
  type CanvasFn,
  type ExecuteJob,
  type MediaDeps,
  type PoolHandle,
} from '../jobs/index.js';
import { HeadersTooLargeError, MalformedRequestError } from '../shared/index.js';
import { errorReply } from './error-body.js';
import { Metrics } from './metrics.js';
import { authPlugin } from './plugins/auth.js';
import { docsPlugin } from './plugins/docs.js';
import { errorsPlugin } from './plugins/errors.js';
import { healthPlugin } from './plugins/health.js';
import { metricsPlugin } from './plugins/metrics.js';
import { jobRoutes } from './routes/jobs.js';
import { predictRoutes } from './routes/predict.js';
import { drawSeed } from './to-job.js';

declare module 'fastify' {
  interface FastifyInstance {
    serverConfig: ServerConfig;
    pool: PoolHandle;
    jobQueue: JobQueue;
    jobStore: JobStore;
    metrics: Metrics;
    drawSeed: () => number;
    now: () => number;
  }
}

export interface AppDeps {
  /** The worker pool (started or not): the app owns it from here and closes it on close. */
  readonly pool: PoolHandle;
  /** Media functions for run-job (tests replace them). */
  readonly media?: MediaDeps;
  /** Replace the whole media → worker → media step (tests). */
  readonly execute?: ExecuteJob;
  readonly canvas?: CanvasFn;
  /** A pino logger, or false for none (default: pino at config.logLevel). */
  readonly logger?: PinoLogger | false;
  readonly seed?: () => number;
  readonly now?: () => number;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** How often finished results are checked for expiry. */
const SWEEP_MS = 30_000;

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(projectRoot(import.meta.url), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** How long past the shutdown grace period close() may take (the running jobs stop at their next step). */
export const CLOSE_MARGIN_MS = 30_000;

/**
 * The HTTP app: validation, routes, queue and result store wired to the given pool. Starts nothing: call
 * `listen()` (or `inject()`); `close()` stops admission, drains or cancels jobs within the shutdown grace
 * period, and closes the pool.
 */
export function buildApp(config: ServerConfig, deps: AppDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const app = Fastify({
    ...(deps.logger === false
      ? { logger: false }
      : deps.logger
        ? { loggerInstance: deps.logger }
        : { logger: { level: config.logLevel } }),
    bodyLimit: config.bodyLimitBytes,
    // the header is read (and checked) by genReqId alone: with requestIdHeader set, Fastify would take any value
    // it finds there without calling genReqId
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    // while draining (SIGTERM), requests keep their routes: health answers (live 200, ready 503 shutting down),
    // running jobs can be polled, new jobs get 503 C3S_ERR_SHUTTING_DOWN; Fastify's own closing reply would
    // answer every route with a bare 503 instead
    return503OnClosing: false,
    // "__proto__" and "constructor.prototype" keys are unknown fields like any other: dropped (secure-json-parse
    // removes them), where Fastify's default refused the body as "not valid JSON"
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // a malformed percent-encoding or an over-long path parameter is refused before routing, where no hook runs:
    // answered here in the server's error shape, with its request id, and counted like unmatched routes
    frameworkErrors: (err, request, reply) => {
      const out = errorReply(err, { bodyLimitBytes: config.bodyLimitBytes });
      request.log.info({ code: out.body.error.code }, out.body.error.message);
      void (reply as unknown as FastifyReply).header('x-request-id', request.id).code(out.statusCode).send(out.body);
      app.metrics.httpDuration.observe({ method: request.method, route: 'unmatched', status_code: String(out.statusCode) }, reply.elapsedTime / 1000);
    },
    // errors before a request exists (headers over Node's limit, bytes that are not HTTP, headers too slow):
    // Fastify's default answers them in its own shape; here they get the server's, then the socket is closed
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const e =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? new HeadersTooLargeError(http.maxHeaderSize)
          : Object.assign(
              new MalformedRequestError(timeout ? 'the request headers took too long to arrive' : `not a valid HTTP request (${err.code ?? 'parse error'})`),
              { statusCode: timeout ? 408 : 400 },
            );
      const out = errorReply(e, { bodyLimitBytes: config.bodyLimitBytes });
      const body = JSON.stringify(out.body);
      // as Node's own handler: no answer while a response is in flight on this connection (keep-alive), which
      // it would be taken for; the socket is closed either way
      const inFlight = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
      if (socket.writable && !inFlight) {
        socket.write(`HTTP/1.1 ${out.statusCode} ${http.STATUS_CODES[out.statusCode]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      socket.destroy();
      app.metrics.httpDuration.observe({ method: 'unknown', route: 'unmatched', status_code: String(out.statusCode) }, 0);
    },
    // Fastify (avvio) bounds each hook by pluginTimeout, 10 s by default: the preClose drain below waits up to
    // the shutdown grace period (then for the cancelled jobs' next step), so a longer drain made close() reject
    // with AVV_ERR_READY_TIMEOUT, cut the grace short and crashed the process. The bound is serve's own
    // force-exit margin.
    pluginTimeout: Math.max(10_000, config.shutdownGraceMs + CLOSE_MARGIN_MS),
  }) as unknown as FastifyInstance;
  // JSON only: the default text/plain parser would hand a string body to validation (400) instead of a 415
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const store = new JobStore({ ttlMs: config.resultTtlMs, maxBytes: config.resultMaxBytes, now });
  let queue: JobQueue | undefined;
  const metrics = new Metrics({
    queueDepth: () => queue?.depth ?? 0,
    inFlight: () => queue?.inFlight ?? 0,
    workersReady: () => deps.pool.readyCount,
    storedResultBytes: () => store.bytes,
  });
  const execute =
    deps.execute ??
    createRunJob({
      pool: deps.pool,
      inputRoots: config.inputRoots,
      maxInputBytes: config.maxInputBytes,
      inputTimeoutMs: config.inputTimeoutMs,
      allowPrivateUrls: config.allowPrivateUrls,
      ...(deps.media ? { media: deps.media } : {}),
      ...(deps.canvas ? { canvas: deps.canvas } : {}),
    });
  queue = new JobQueue({
    maxQueued: config.queueDepth,
    concurrency: deps.pool.size,
    timeoutMs: config.requestTimeoutMs,
    execute,
    store,
    observer: metrics.observer(now),
    now,
  });
  const unsubscribe = deps.pool.onWorkerEvent((e) => metrics.workerEvents.inc({ event: e.type }));

  app.decorate('serverConfig', config);
  app.decorate('pool', deps.pool);
  app.decorate('jobQueue', queue);
  app.decorate('jobStore', store);
  app.decorate('metrics', metrics);
  app.decorate('drawSeed', deps.seed ?? drawSeed);
  app.decorate('now', now);

  const sweep = setInterval(() => store.sweep(), Math.min(SWEEP_MS, config.resultTtlMs));
  sweep.unref();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preClose', async () => {
    app.log.info({ graceMs: config.shutdownGraceMs, running: queue.inFlight, waiting: queue.depth }, 'shutting down: draining jobs');
    await queue.shutdown(config.shutdownGraceMs);
  });
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    unsubscribe();
    await deps.pool.close();
  });

  app.register(errorsPlugin, { bodyLimitBytes: config.bodyLimitBytes, retryAfterSeconds: () => queue.retryAfterSeconds() });
  app.register(docsPlugin, { version: packageVersion() });
  app.register(authPlugin, config.apiKey === undefined ? {} : { apiKey: config.apiKey });
  app.register(metricsPlugin);
  app.register(healthPlugin);
  app.register(predictRoutes);
  app.register(jobRoutes);
  return app;
}
