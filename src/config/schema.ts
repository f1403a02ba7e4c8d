import { z } from 'zod';

/**
 * The server's environment variables as one zod schema: every value is a string in, typed out, each with its
 * default and its rule. `loadConfig` (load.ts) parses once, resolves paths and freezes the result.
 */

const intFrom = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const n = Number(raw.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer in ${min}..${max}, got '${raw}'` });
        return z.NEVER;
      }
      return n;
    });

/**
 * The longest time limit: each ends up in a Node.js timer, which fires after 1 ms instead of a delay
 * over 2^31 − 1 ms (~24.8 days). 24 days keeps the shutdown's close margin inside that too.
 */
export const MAX_SECONDS = 24 * 86_400;

/** Seconds > 0; at most MAX_SECONDS for a setting that becomes a timer's delay (`timer`). */
const secondsFrom = (name: string, fallback: number, timer = true) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const n = Number(raw.trim());
      if (!Number.isFinite(n) || n <= 0 || (timer && n > MAX_SECONDS)) {
        const rule = timer ? `> 0 and ≤ ${MAX_SECONDS} (24 days)` : '> 0';
        ctx.addIssue({ code: 'custom', message: `${name} must be a number of seconds ${rule}, got '${raw}'` });
        return z.NEVER;
      }
      return n;
    });

/** An on/off setting, off unless set to 1/true/on. */
const switchFrom = (name: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const v = (raw ?? '').trim().toLowerCase();
      if (v === '' || v === '0' || v === 'false' || v === 'off') return false;
      if (v === '1' || v === 'true' || v === 'on') return true;
      ctx.addIssue({ code: 'custom', message: `${name} must be 1/true/on or 0/false/off, got '${raw}'` });
      return z.NEVER;
    });

const DEVICE_RE = /^(cpu|cuda:\d{1,2})$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ENV_SCHEMA = z.object({
  HOST: z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? '0.0.0.0' : v.trim())),
  PORT: intFrom('PORT', 0, 65535, 8080),
  MODEL_DIR: z.string().optional(),
  DEVICES: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const list = (raw ?? 'cpu').split(',').map((d) => d.trim()).filter((d) => d !== '');
      const bad = list.filter((d) => !DEVICE_RE.test(d));
      if (list.length === 0 || bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `DEVICES must be a comma-separated list of cpu or cuda:<n>, got '${raw}'` });
        return z.NEVER;
      }
      if (new Set(list).size !== list.length) {
        ctx.addIssue({ code: 'custom', message: `DEVICES must not repeat a device, got '${raw}'` });
        return z.NEVER;
      }
      return list;
    }),
  QUEUE_DEPTH: intFrom('QUEUE_DEPTH', 0, 100_000, 16),
  REQUEST_TIMEOUT_S: secondsFrom('REQUEST_TIMEOUT_S', 1800),
  // a key is sent as one token after "Api-Key " or "Bearer ": one with whitespace could never match
  API_KEY: z.string().optional().transform((v) => (v === undefined || v === '' ? undefined : v))
    .refine((v) => v === undefined || !/\s/.test(v), { message: 'API_KEY must not contain whitespace (it is sent as one token after "Api-Key " or "Bearer ")' }),
  INPUT_ROOTS: z
    .string()
    .optional()
    .transform((raw) => (raw ?? '').split(':').map((p) => p.trim()).filter((p) => p !== '')),
  MAX_INPUT_BYTES: intFrom('MAX_INPUT_BYTES', 1, 2 ** 40, 512 * 1024 * 1024),
  INPUT_TIMEOUT_S: secondsFrom('INPUT_TIMEOUT_S', 120),
  BODY_LIMIT_BYTES: intFrom('BODY_LIMIT_BYTES', 1024, 2 ** 30, 1024 * 1024),
  // compared with timestamps only (the sweep runs every 30 s at most): no timer bound
  RESULT_TTL_S: secondsFrom('RESULT_TTL_S', 3600, false),
  RESULT_MAX_BYTES: intFrom('RESULT_MAX_BYTES', 0, 2 ** 40, 2 * 1024 * 1024 * 1024),
  SHUTDOWN_GRACE_S: secondsFrom('SHUTDOWN_GRACE_S', 30),
  LOG_LEVEL: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const level = (raw ?? 'info').trim().toLowerCase() || 'info';
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        ctx.addIssue({ code: 'custom', message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${raw}'` });
        return z.NEVER;
      }
      return level as (typeof LOG_LEVELS)[number];
    }),
  RUNNER_MODULE: z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  PAIRED_GUIDANCE: switchFrom('PAIRED_GUIDANCE'),
  ALLOW_PRIVATE_URLS: switchFrom('ALLOW_PRIVATE_URLS'),
});

export type ParsedEnv = z.output<typeof ENV_SCHEMA>;

/** The resolved, frozen server configuration (units in the names). */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Absolute path of the converted model (graphs + manifest). */
  readonly modelDir: string;
  /** True when MODEL_DIR was not set: the embedded tiny model under the project root. */
  readonly modelDirIsDefault: boolean;
  /** One worker per device: 'cpu' or 'cuda:<n>'. */
  readonly devices: readonly string[];
  /** Jobs waiting (not counting running ones) before 429. */
  readonly queueDepth: number;
  /** A job's running time limit (504 past it). */
  readonly requestTimeoutMs: number;
  /** Unset: auth off. */
  readonly apiKey?: string;
  /** Absolute directories local vision_path/action_path may live in (empty: local paths refused). */
  readonly inputRoots: readonly string[];
  readonly maxInputBytes: number;
  readonly inputTimeoutMs: number;
  readonly bodyLimitBytes: number;
  /** Finished async results are kept this long, and at most this many bytes in all. */
  readonly resultTtlMs: number;
  readonly resultMaxBytes: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: ParsedEnv['LOG_LEVEL'];
  /** File URL of the runner module the workers load (default: the ONNX Runtime runner). */
  readonly runnerModule?: string;
  /**
   * Both guidance passes of a vision step in one run: the denoiser opens `transformer_gen_merged` (converter
   * 0.5.0; the same weights as the plain generator, one copy) instead of the plain generator (docs/graphs.md).
   * Off by default until the GPU benchmark shows its gain.
   */
  readonly pairedGuidance: boolean;
  /** URL inputs may be fetched from loopback, private and other non-public addresses (default: refused). */
  readonly allowPrivateUrls: boolean;
}
