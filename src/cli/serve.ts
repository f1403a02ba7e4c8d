import { BlockList, isIP } from 'node:net';
import { pino, type Logger as PinoLogger } from 'pino';
import { buildApp, CLOSE_MARGIN_MS } from '../api/index.js';
import { loadConfig, type ServerConfig } from '../config/index.js';
import { checkCudaProvisioning } from '../engine/index.js';
import { WorkerPool } from '../jobs/index.js';
import type { CliIo } from './index.js';

export const SERVE_USAGE = `Usage: cosmos3-serve serve

Runs the HTTP server. Configuration comes from the environment:
  HOST (0.0.0.0)  PORT (8080)  MODEL_DIR (models/tiny, generated on first start)  DEVICES (cpu; e.g. cuda:0,cuda:1)
  QUEUE_DEPTH (16)  REQUEST_TIMEOUT_S (1800)  API_KEY (unset: auth off)  INPUT_ROOTS (colon-separated; none)
  MAX_INPUT_BYTES (512 MiB)  INPUT_TIMEOUT_S (120)  BODY_LIMIT_BYTES (1 MiB)  RESULT_TTL_S (3600)
  RESULT_MAX_BYTES (2 GiB)  SHUTDOWN_GRACE_S (30)  LOG_LEVEL (info)  RUNNER_MODULE (the ONNX Runtime runner)
  ALLOW_PRIVATE_URLS (0: URL inputs reach public addresses only)  PAIRED_GUIDANCE (0; 1: guidance passes in one run)
SIGTERM/SIGINT: stop accepting, finish running jobs within SHUTDOWN_GRACE_S (then cancel them), exit 0.`;

export interface ServeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Signals that start a graceful shutdown. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Make sure the model exists before workers load it (default: generate the embedded tiny model when MODEL_DIR is unset). */
  readonly prepareModel?: (config: ServerConfig, log: PinoLogger) => Promise<void>;
}

async function prepareDefaultModel(config: ServerConfig, log: PinoLogger): Promise<void> {
  if (!config.modelDirIsDefault || config.runnerModule !== undefined) return;
  // loaded only here: the converter is not needed to serve an existing model
  const { ensureTinyModel } = await import('../convert/tiny/index.js');
  const { created } = await ensureTinyModel(config.modelDir);
  if (created) log.info({ modelDir: config.modelDir }, 'generated the embedded tiny model');
}

/** `cosmos3-serve serve`: resolves with the exit code once the server has shut down. */
export async function runServe(argv: readonly string[], io: CliIo, options: ServeOptions = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  if (argv.length > 0) {
    io.stderr.write(`serve takes no arguments (got ${argv.join(' ')})\n\n${SERVE_USAGE}\n`);
    return 2;
  }
  let config: ServerConfig;
  try {
    config = loadConfig(options.env ?? process.env);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = pino({ level: config.logLevel, base: { pid: process.pid } });
  try {
    // CUDA devices: refuse to start, naming the missing piece, unless the provider and its libraries are there
    checkCudaProvisioning({ devices: [...config.devices] });
  } catch (err) {
    log.fatal({ err }, 'CUDA execution provider not usable');
    io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  try {
    await (options.prepareModel ?? prepareDefaultModel)(config, log);
  } catch (err) {
    log.fatal({ err, modelDir: config.modelDir }, 'model not available');
    return 1;
  }
  const pool = new WorkerPool({
    devices: config.devices,
    modelDir: config.modelDir,
    ...(config.runnerModule ? { runnerModule: config.runnerModule } : {}),
    ...(config.pairedGuidance ? { runnerOptions: { pairedGuidance: true } } : {}),
    logger: log,
  });
  const app = buildApp(config, { pool, logger: log });

  let exitCode = 0;
  let closing: Promise<void> | undefined;
  const shutdown = (reason: string, code: number): Promise<void> => {
    if (closing) return closing;
    exitCode = code;
    log.info({ reason, graceMs: config.shutdownGraceMs }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long: exiting');
      process.exit(code === 0 ? 1 : code);
    }, config.shutdownGraceMs + CLOSE_MARGIN_MS);
    force.unref();
    closing = app.close().then(
      () => clearTimeout(force),
      (err: unknown) => {
        clearTimeout(force);
        log.error({ err }, 'shutdown failed');
        exitCode = exitCode === 0 ? 1 : exitCode;
      },
    );
    return closing;
  };
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
  const handlers = signals.map((signal) => {
    const handler = (): void => {
      if (closing) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      void shutdown(signal, 0);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    log.fatal({ err }, 'cannot listen');
    handlers.forEach((off) => off());
    await app.close();
    return 1;
  }
  if (config.apiKey === undefined && !isLoopback(config.host)) {
    log.warn({ host: config.host }, 'API_KEY is not set: anyone who can reach this address can submit and cancel jobs');
  }
  pool.start().then(
    () => log.info({ devices: config.devices }, 'model loaded and warmed up: ready'),
    (err: unknown) => {
      log.fatal({ err }, 'inference workers failed to start');
      void shutdown('worker start failure', 1);
    },
  );
  await new Promise<void>((resolve) => app.server.once('close', () => resolve()));
  await closing;
  handlers.forEach((off) => off());
  log.info({ exitCode }, 'stopped');
  return exitCode;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether the server listens on the loopback interface only (any spelling of 127/8 or ::1, IPv4-mapped too). */
export function isLoopback(host: string): boolean {
  const family = isIP(host);
  return host === 'localhost' || (family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6'));
}
