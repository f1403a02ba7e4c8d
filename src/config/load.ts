import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../shared/index.js';
import { ENV_SCHEMA, type ServerConfig } from './schema.js';

/** The project root: the nearest folder above this file whose package.json is cosmos3-serve (works from src/ and dist/). */
export function projectRoot(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'cosmos3-serve') return dir;
      } catch {
        // not ours: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`projectRoot: no cosmos3-serve package.json above ${from}`);
    dir = up;
  }
}

/** models/tiny under the project root: where the embedded tiny model is generated. */
export function defaultModelDir(root: string = projectRoot()): string {
  return join(root, 'models', 'tiny');
}

/**
 * Parse the environment once: every bad value is reported (one line each) in a single ConfigError;
 * relative paths resolve against `cwd`; the result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: { cwd?: string; root?: string } = {}): ServerConfig {
  const parsed = ENV_SCHEMA.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.message}`);
    throw new ConfigError(lines.join('\n'));
  }
  const v = parsed.data;
  const cwd = options.cwd ?? process.cwd();
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const modelDirIsDefault = v.MODEL_DIR === undefined || v.MODEL_DIR.trim() === '';
  const runnerModule =
    v.RUNNER_MODULE === undefined ? undefined : v.RUNNER_MODULE.startsWith('file:') ? v.RUNNER_MODULE : pathToFileURL(abs(v.RUNNER_MODULE)).href;
  const config: ServerConfig = {
    host: v.HOST,
    port: v.PORT,
    modelDir: modelDirIsDefault ? defaultModelDir(options.root) : abs(v.MODEL_DIR!.trim()),
    modelDirIsDefault,
    devices: Object.freeze([...v.DEVICES]),
    queueDepth: v.QUEUE_DEPTH,
    requestTimeoutMs: Math.round(v.REQUEST_TIMEOUT_S * 1000),
    ...(v.API_KEY === undefined ? {} : { apiKey: v.API_KEY }),
    inputRoots: Object.freeze(v.INPUT_ROOTS.map(abs)),
    maxInputBytes: v.MAX_INPUT_BYTES,
    inputTimeoutMs: Math.round(v.INPUT_TIMEOUT_S * 1000),
    bodyLimitBytes: v.BODY_LIMIT_BYTES,
    resultTtlMs: Math.round(v.RESULT_TTL_S * 1000),
    resultMaxBytes: v.RESULT_MAX_BYTES,
    shutdownGraceMs: Math.round(v.SHUTDOWN_GRACE_S * 1000),
    logLevel: v.LOG_LEVEL,
    ...(runnerModule === undefined ? {} : { runnerModule }),
    pairedGuidance: v.PAIRED_GUIDANCE,
    allowPrivateUrls: v.ALLOW_PRIVATE_URLS,
  };
  return Object.freeze(config);
}
