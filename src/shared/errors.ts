import createError from '@fastify/error';

/**
 * The error catalogue: every error the project raises on purpose, with a stable C3S_ERR_ code, a message
 * template and an HTTP status. docs/errors.md lists each code (a test keeps the two in sync).
 * Errors that concern one request field carry `field` (set with `withField`).
 */

// Request and input (4xx)
export const InvalidFieldError = createError<'C3S_ERR_INVALID_FIELD', 400, [string, string, ErrorOptions?]>(
  'C3S_ERR_INVALID_FIELD', '%s: %s', 400);
export const InputUnreadableError = createError<'C3S_ERR_INPUT_UNREADABLE', 400, [string, string, ErrorOptions?]>(
  'C3S_ERR_INPUT_UNREADABLE', '%s: %s', 400);
export const InputFetchError = createError<'C3S_ERR_INPUT_FETCH', 400, [string, string, ErrorOptions?]>(
  'C3S_ERR_INPUT_FETCH', '%s: %s', 400);
export const InputForbiddenError = createError<'C3S_ERR_INPUT_FORBIDDEN', 400, [string, string, ErrorOptions?]>(
  'C3S_ERR_INPUT_FORBIDDEN', '%s: %s', 400);
export const InputTooLargeError = createError<'C3S_ERR_INPUT_TOO_LARGE', 400, [string, number, ErrorOptions?]>(
  'C3S_ERR_INPUT_TOO_LARGE', '%s: input is larger than the limit of %d bytes', 400);
export const InputTimeoutError = createError<'C3S_ERR_INPUT_TIMEOUT', 504, [string, number, ErrorOptions?]>(
  'C3S_ERR_INPUT_TIMEOUT', '%s: fetching the input took longer than %d ms', 504);

// Converter and model files
export const SafetensorsFormatError = createError<'C3S_ERR_SAFETENSORS', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_SAFETENSORS', 'safetensors file %s: %s', 500);
export const CheckpointTensorError = createError<'C3S_ERR_CHECKPOINT_TENSOR', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_CHECKPOINT_TENSOR', 'checkpoint tensor %s: %s', 500);
export const CheckpointConfigError = createError<'C3S_ERR_CHECKPOINT_CONFIG', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_CHECKPOINT_CONFIG', 'checkpoint config %s: %s', 500);
export const ModelManifestError = createError<'C3S_ERR_MODEL_MANIFEST', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_MODEL_MANIFEST', 'model %s: %s', 500);
export const FixtureError = createError<'C3S_ERR_FIXTURE', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_FIXTURE', 'fixture %s: %s', 500);

/** Attach the request field an error is about (rendered as error.field in the HTTP body). */
export function withField<E extends Error>(err: E, field: string): E & { field: string } {
  return Object.assign(err, { field });
}

// Media tools (ffmpeg/ffprobe) failing on our own data: 500, stderr tail in the message (logged, not returned)
export const MediaToolError = createError<'C3S_ERR_MEDIA_TOOL', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_MEDIA_TOOL', '%s: %s', 500);

// HTTP server, queue and workers
export const UnauthorizedError = createError<'C3S_ERR_UNAUTHORIZED', 401, [ErrorOptions?]>(
  'C3S_ERR_UNAUTHORIZED', 'missing or invalid API key (send "Authorization: Api-Key <key>" or "Bearer <key>")', 401);
export const RouteNotFoundError = createError<'C3S_ERR_ROUTE_NOT_FOUND', 404, [string, string, ErrorOptions?]>(
  'C3S_ERR_ROUTE_NOT_FOUND', 'no route %s %s', 404);
export const MethodNotAllowedError = createError<'C3S_ERR_METHOD_NOT_ALLOWED', 405, [string, string, string, ErrorOptions?]>(
  'C3S_ERR_METHOD_NOT_ALLOWED', 'method %s is not allowed on %s (allowed: %s)', 405);
export const JobNotFoundError = createError<'C3S_ERR_JOB_NOT_FOUND', 404, [string, ErrorOptions?]>(
  'C3S_ERR_JOB_NOT_FOUND', 'job %s not found (unknown, or its result expired)', 404);
export const JobNotFinishedError = createError<'C3S_ERR_JOB_NOT_FINISHED', 409, [string, string, ErrorOptions?]>(
  'C3S_ERR_JOB_NOT_FINISHED', 'job %s is %s: no result yet', 409);
export const JobCancelledError = createError<'C3S_ERR_JOB_CANCELLED', 409, [string, ErrorOptions?]>(
  'C3S_ERR_JOB_CANCELLED', 'job %s was cancelled', 409);
export const MalformedRequestError = createError<'C3S_ERR_MALFORMED_REQUEST', 400, [string, ErrorOptions?]>(
  'C3S_ERR_MALFORMED_REQUEST', 'malformed request: %s', 400);
export const BodyTooLargeError = createError<'C3S_ERR_BODY_TOO_LARGE', 413, [number, ErrorOptions?]>(
  'C3S_ERR_BODY_TOO_LARGE', 'request body is larger than the limit of %d bytes', 413);
export const HeadersTooLargeError = createError<'C3S_ERR_HEADERS_TOO_LARGE', 431, [number, ErrorOptions?]>(
  'C3S_ERR_HEADERS_TOO_LARGE', 'request headers are larger than the limit of %d bytes', 431);
export const UnsupportedMediaTypeError = createError<'C3S_ERR_UNSUPPORTED_MEDIA_TYPE', 415, [string, ErrorOptions?]>(
  'C3S_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type %s: send application/json', 415);
export const QueueFullError = createError<'C3S_ERR_QUEUE_FULL', 429, [number, ErrorOptions?]>(
  'C3S_ERR_QUEUE_FULL', 'the job queue is full (%d waiting); retry later', 429);
export const NotReadyError = createError<'C3S_ERR_NOT_READY', 503, [ErrorOptions?]>(
  'C3S_ERR_NOT_READY', 'the model is not loaded yet; retry later', 503);
export const ShuttingDownError = createError<'C3S_ERR_SHUTTING_DOWN', 503, [ErrorOptions?]>(
  'C3S_ERR_SHUTTING_DOWN', 'the server is shutting down', 503);
export const JobTimeoutError = createError<'C3S_ERR_JOB_TIMEOUT', 504, [number, ErrorOptions?]>(
  'C3S_ERR_JOB_TIMEOUT', 'the job ran longer than the limit of %d s', 504);
export const WorkerCrashedError = createError<'C3S_ERR_WORKER_CRASHED', 500, [string, ErrorOptions?]>(
  'C3S_ERR_WORKER_CRASHED', 'the inference worker stopped unexpectedly (%s)', 500);
export const WorkerStartError = createError<'C3S_ERR_WORKER_START', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_WORKER_START', 'inference worker for %s failed to start: %s', 500);
export const InternalError = createError<'C3S_ERR_INTERNAL', 500, [string, ErrorOptions?]>(
  'C3S_ERR_INTERNAL', 'internal error: %s', 500);
export const ConfigError = createError<'C3S_ERR_CONFIG', 500, [string, ErrorOptions?]>(
  'C3S_ERR_CONFIG', 'invalid configuration:\n%s', 500);

// Start-up: ONNX Runtime's CUDA execution provider (src/engine/ort/cuda-check.ts); first %s the devices, then one
// line per missing piece with its fix
export const CudaProvisioningError = createError<'C3S_ERR_CUDA_PROVISIONING', 500, [string, string, ErrorOptions?]>(
  'C3S_ERR_CUDA_PROVISIONING', 'the CUDA execution provider for %s cannot start:\n%s', 500);

const WORKER_TIMINGS = Symbol('c3s.workerTimings');

/** Attach the stage seconds a worker reported with a job's failure (a hidden property: logs and bodies skip it). */
export function withWorkerTimings<E>(err: E, timings: Readonly<Record<string, number>> | undefined): E {
  if (timings !== undefined && typeof err === 'object' && err !== null) {
    Object.defineProperty(err, WORKER_TIMINGS, { value: timings, configurable: true, enumerable: false });
  }
  return err;
}

/** The worker's stage seconds carried by a job's error ({} when none). */
export function workerTimingsOf(err: unknown): Readonly<Record<string, number>> {
  const t = typeof err === 'object' && err !== null ? (err as { [WORKER_TIMINGS]?: Readonly<Record<string, number>> })[WORKER_TIMINGS] : undefined;
  return t ?? {};
}

/** An error as it crosses the worker boundary (structured clone keeps plain data only). */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details?: { readonly field?: string; readonly statusCode?: number };
}

/** Every error factory of the catalogue, in declaration order (a test checks that none is missing). */
export const ERROR_CATALOGUE = [
  InvalidFieldError, InputUnreadableError, InputFetchError, InputForbiddenError, InputTooLargeError, InputTimeoutError,
  SafetensorsFormatError, CheckpointTensorError, CheckpointConfigError, ModelManifestError, FixtureError,
  MediaToolError,
  UnauthorizedError, RouteNotFoundError, MethodNotAllowedError, JobNotFoundError, JobNotFinishedError, JobCancelledError,
  MalformedRequestError, BodyTooLargeError, HeadersTooLargeError, UnsupportedMediaTypeError, QueueFullError, NotReadyError, ShuttingDownError, JobTimeoutError,
  WorkerCrashedError, WorkerStartError, InternalError, ConfigError, CudaProvisioningError,
] as const;

/** The stable code of a catalogue factory (factories set `code` on their instances only). */
export function errorCode(factory: (typeof ERROR_CATALOGUE)[number]): string {
  return (new (factory as unknown as new () => { code: string })()).code;
}

/** Flatten any thrown value for postMessage: catalogue errors keep code, message and field; others become C3S_ERR_INTERNAL. */
export function toWireError(err: unknown): WireError {
  const e = err as { code?: unknown; message?: unknown; field?: unknown; statusCode?: unknown } | null;
  const code = typeof e?.code === 'string' && e.code.startsWith('C3S_ERR_') ? e.code : 'C3S_ERR_INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const details: { field?: string; statusCode?: number } = {};
  if (typeof e?.field === 'string') details.field = e.field;
  if (typeof e?.statusCode === 'number') details.statusCode = e.statusCode;
  return { code, message, details };
}

let byCode: Map<string, (typeof ERROR_CATALOGUE)[number]> | undefined;

/** Rebuild a catalogue error from its wire form on the main thread; an unknown code becomes InternalError. */
export function fromWireError(wire: WireError): Error & { code: string; statusCode?: number; field?: string } {
  byCode ??= new Map(ERROR_CATALOGUE.map((f) => [errorCode(f), f]));
  const factory = byCode.get(wire.code);
  if (factory === undefined || wire.code === 'C3S_ERR_INTERNAL') {
    const err = new InternalError(wire.message);
    return wire.details?.field ? withField(err, wire.details.field) : err;
  }
  const err = new (factory as unknown as new () => Error & { code: string; statusCode?: number })();
  err.message = wire.message;
  return wire.details?.field ? withField(err, wire.details.field) : err;
}
