import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/api/index.js';
import { loadConfig, type ServerConfig } from '../../src/config/index.js';
import { WorkerPool, type MediaDeps, type PoolHandle, type WorkerEvent } from '../../src/jobs/index.js';
import { fitWithinSize, parseActions } from '../../src/media/index.js';
import type { RgbFrames } from '../../src/shared/index.js';

/** The runner test double, as a file URL for workerData. */
export const FAKE_RUNNER = pathToFileURL(resolve(import.meta.dirname, 'fake-runner.mjs')).href;

/** A test config: env defaults with small limits, overridable field by field. */
export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const base = loadConfig({ MODEL_DIR: '/nonexistent/model', QUEUE_DEPTH: '4', SHUTDOWN_GRACE_S: '2', LOG_LEVEL: 'silent' });
  return Object.freeze({ ...base, ...overrides });
}

function solid(frames: number, width: number, height: number, value = 128): RgbFrames {
  return { data: new Uint8Array(frames * width * height * 3).fill(value), frames, height, width };
}

/**
 * Media without files or ffmpeg: inputs are "loaded" as solid frames (images 64×48; videos 5 frames of 200×120),
 * encoders return a short text naming what they got ("MP4 WxHxF@fps", "JPEG WxHxF"), action files parse from
 * `action_path` when it starts with '[' (the JSON itself), else two rows of width 2.
 */
export function fakeMedia(calls: string[] = []): MediaDeps {
  return {
    fetchInput: async (ref, field) => {
      calls.push(`fetch ${field} ${ref}`);
      return { file: ref, bytes: 0 };
    },
    decodeImage: async () => solid(1, 64, 48),
    coverResize: async (f, width, height) => solid(f.frames, width, height),
    loadVision: async (_file, _field, opts) => {
      const size = opts.targetSize?.(200, 120) ?? { width: 200, height: 120 };
      const frame = opts.mapFrame ? await opts.mapFrame(solid(1, size.width, size.height)) : solid(1, size.width, size.height);
      return { kind: 'video', frames: solid(Math.min(5, opts.maxFrames), frame.width, frame.height), sourceWidth: 200, sourceHeight: 120, fps: 10 };
    },
    fitWithin: async (f, maxW, maxH) => {
      const s = fitWithinSize(f.width, f.height, maxW, maxH);
      return solid(f.frames, s.width, s.height);
    },
    parseActions: (buf, field, opts) => parseActions(buf, field, opts),
    encodeJpeg: async (f) => Buffer.from(`JPEG ${f.width}x${f.height}x${f.frames}`),
    encodeMp4: async (f, o) => Buffer.from(`MP4 ${f.width}x${f.height}x${f.frames}@${o.fps}`),
    readFile: async (path) => Buffer.from(path.startsWith('[') ? path : '[[0,0],[1,1]]'),
  };
}

export interface TestServer {
  readonly app: FastifyInstance;
  readonly pool: WorkerPool;
  readonly config: ServerConfig;
  /** Worker events seen so far. */
  readonly events: WorkerEvent[];
  close(): Promise<void>;
}

/** The real app over a real worker pool running the fake runner; started and ready. */
export async function startTestServer(
  options: {
    config?: Partial<ServerConfig>;
    runnerOptions?: Record<string, unknown>;
    /** Runner module file URL (default: the fake runner). */
    runnerModule?: string;
    media?: MediaDeps;
    deps?: Partial<AppDeps>;
    cancelGraceMs?: number;
  } = {},
): Promise<TestServer> {
  const config = testConfig(options.config);
  const pool = new WorkerPool({
    devices: config.devices,
    modelDir: config.modelDir,
    runnerModule: options.runnerModule ?? FAKE_RUNNER,
    runnerOptions: options.runnerOptions ?? {},
    restartDelayMs: 10,
    cancelGraceMs: options.cancelGraceMs ?? 5_000,
  });
  const events: WorkerEvent[] = [];
  pool.onWorkerEvent((e) => events.push(e));
  const app = buildApp(config, { pool, logger: false, media: options.media ?? fakeMedia(), ...options.deps });
  await pool.start();
  await app.ready();
  return { app, pool, config, events, close: () => app.close() };
}

/** A pool stand-in for tests that never reach a worker (validation, auth). */
export function idlePool(started = true): PoolHandle {
  return {
    size: 1,
    readyCount: started ? 1 : 0,
    started,
    run: () => Promise.reject(new Error('idlePool: no worker')),
    close: async () => {},
    onWorkerEvent: () => () => {},
  };
}

/** An app over a pool that never runs anything (for validation and auth tests). */
export async function startValidationApp(config: Partial<ServerConfig> = {}, started = true): Promise<FastifyInstance> {
  const app = buildApp(testConfig(config), { pool: idlePool(started), logger: false, media: fakeMedia() });
  await app.ready();
  return app;
}

export async function scratch(name: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `c3s-${name}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Poll until `check` returns a value (not undefined), or fail after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
