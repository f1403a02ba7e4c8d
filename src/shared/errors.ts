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
