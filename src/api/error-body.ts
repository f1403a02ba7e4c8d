import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  BodyTooLargeError,
  InternalError,
  InvalidFieldError,
  MalformedRequestError,
  UnsupportedMediaTypeError,
  withField,
} from '../shared/index.js';

export interface ErrorReply {
  readonly statusCode: number;
  readonly body: { error: { code: string; message: string; field: string | null } };
  /** The error logged: the original for 5xx. */
  readonly internal: boolean;
}

type AnyError = Error & { code?: string; statusCode?: number; field?: string; validationContext?: string };

/** A foreign (Fastify, zod, runtime) error → a catalogue error. */
export function toCatalogueError(err: unknown, opts: { bodyLimitBytes: number }): AnyError {
  const e = (err instanceof Error ? err : new InternalError(String(err))) as AnyError;
  if (hasZodFastifySchemaValidationErrors(e)) {
    const issue = e.validation[0];
    const path = issue.instancePath.split('/').filter((p) => p !== '').join('.');
    const field = path !== '' ? path : e.validationContext === 'params' ? 'id' : 'body';
    const rule = path === '' && e.validationContext === 'body' ? 'must be a JSON object' : (issue.message ?? 'is invalid');
    return withField(new InvalidFieldError(field, rule, { cause: e }), field);
  }
  if (typeof e.code === 'string' && e.code.startsWith('C3S_ERR_')) return e;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLargeError(opts.bodyLimitBytes, { cause: e });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? new UnsupportedMediaTypeError('of the body', { cause: e }) : new MalformedRequestError(e.message, { cause: e });
    default:
      break;
  }
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const m = new MalformedRequestError(e.message, { cause: e }) as AnyError;
    m.statusCode = status;
    return m;
  }
  return new InternalError(e.message, { cause: e });
}

/**
 * The HTTP status and JSON body for an error: {"error": {code, message, field}}. 4xx, 503 and 504 say what
 * happened; other 5xx hide internals (the server log has them, under the request id).
 */
export function errorReply(err: unknown, opts: { bodyLimitBytes: number; requestId?: string }): ErrorReply {
  const e = toCatalogueError(err, opts);
  const statusCode = e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode <= 599 ? e.statusCode : 500;
  const code = e.code ?? 'C3S_ERR_INTERNAL';
  const field = typeof e.field === 'string' ? e.field : null;
  const opaque = statusCode >= 500 && statusCode !== 503 && statusCode !== 504;
  const message = opaque
    ? `internal error${opts.requestId ? ` (request id ${opts.requestId}: see the server log)` : ''}`
    : e.message;
  return { statusCode, body: { error: { code, message, field } }, internal: opaque };
}
