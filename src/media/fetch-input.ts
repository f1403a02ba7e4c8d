import { open, realpath, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import {
  InputFetchError,
  InputForbiddenError,
  InputTimeoutError,
  InputTooLargeError,
  withField,
} from '../shared/index.js';
import { isPublicAddress, PrivateAddressError, publicFetch } from './address-policy.js';
import { createTmpDir, type TmpDir } from './tmp.js';

/**
 * Resolve a request's `vision_path` / `action_path` to a local file: an http(s) URL is downloaded into an owned
 * temp dir, a local path must resolve (after symlinks) inside one of the configured input roots. Every failure
 * is a catalogue error naming the field: 400, or 504 for a timeout; never a 500.
 */

export const DEFAULT_MAX_REDIRECTS = 5;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface FetchInputOptions {
  /** Directories local paths may live in (INPUT_ROOTS, split by the caller). Empty: local paths refused. */
  readonly inputRoots: readonly string[];
  /** MAX_INPUT_BYTES: larger inputs are refused (Content-Length first, then while streaming). */
  readonly maxBytes: number;
  /** Whole download, all redirects included. */
  readonly timeoutMs: number;
  /** Per hop, until the response headers arrive (connect + TLS + server think time). Default 10 s. */
  readonly connectTimeoutMs?: number;
  readonly maxRedirects?: number;
  /** The request's own cancellation: aborting rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Parent for the download's temp dir (default: OS temp dir). */
  readonly tmpRoot?: string;
  /**
   * ALLOW_PRIVATE_URLS: also download from loopback, private, link-local and other non-public addresses.
   * Default false: such URLs are refused with a 400 InputForbiddenError, checked at connect time.
   */
  readonly allowPrivateAddresses?: boolean;
  /** Injected fetch (default: undici's, connecting to public addresses only unless `allowPrivateAddresses`). */
  readonly fetch?: typeof globalThis.fetch;
}

export interface FetchedInput {
  /** Absolute path of the input file. */
  readonly file: string;
  readonly bytes: number;
  /** Downloads only: the temp dir holding `file`. The caller owns it and calls `remove()` in a `finally`. */
  readonly tmp?: TmpDir;
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function fetchInput(ref: string, field: string, options: FetchInputOptions): Promise<FetchedInput> {
  options.signal?.throwIfAborted();
  const scheme = SCHEME_RE.exec(ref)?.[1]?.toLowerCase();
  if (scheme === undefined) return resolveLocal(ref, field, options);
  if (scheme !== 'http' && scheme !== 'https') {
    throw forbidden(field, `only http(s) URLs and local paths are accepted, not '${scheme}:'`);
  }
  let url: URL;
  try {
    url = new URL(ref);
  } catch (err) {
    throw withField(new InputFetchError(field, 'not a valid URL', { cause: err }), field);
  }
  const tmp = await createTmpDir('input', { root: options.tmpRoot });
  try {
    const file = tmp.file('input');
    const bytes = await download(url, file, field, options);
    return { file, bytes, tmp };
  } catch (err) {
    await tmp.remove();
    throw err;
  }
}

async function download(start: URL, file: string, field: string, options: FetchInputOptions): Promise<number> {
  const allowPrivate = options.allowPrivateAddresses === true;
  const doFetch = options.fetch ?? (allowPrivate ? globalThis.fetch : publicFetch);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const connectMs = Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, options.timeoutMs);
  const total = new AbortController();
  const totalTimer = setTimeout(() => total.abort(), options.timeoutMs).unref();
  let headers: AbortController | undefined;
  let headersTimer: NodeJS.Timeout | undefined;
  let url = start;
  try {
    let res: Response;
    for (let hop = 0; ; hop++) {
      checkScheme(url, field);
      if (!allowPrivate) checkLiteralAddress(url, field);
      headers = new AbortController();
      headersTimer = setTimeout(() => headers?.abort(), connectMs).unref();
      const signals = [total.signal, headers.signal, ...(options.signal ? [options.signal] : [])];
      res = await doFetch(url, { redirect: 'manual', signal: AbortSignal.any(signals), headers: { accept: '*/*' } });
      clearTimeout(headersTimer);
      if (!REDIRECTS.has(res.status)) break;
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw fetchError(field, `${redact(url)} answered HTTP ${res.status} without a Location`);
      if (hop >= maxRedirects) throw fetchError(field, `more than ${maxRedirects} redirects`);
      url = new URL(location, url);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw fetchError(field, `${redact(url)} answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > options.maxBytes) {
      await res.body?.cancel();
      throw withField(new InputTooLargeError(field, options.maxBytes), field);
    }
    return await saveBody(res, file, field, options.maxBytes);
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (isCatalogued(err)) throw err;
    const refused = privateAddressCause(err);
    if (refused) throw forbidden(field, `${redact(url)}: ${refused.message} (ALLOW_PRIVATE_URLS=1 allows it)`);
    if (total.signal.aborted) throw withField(new InputTimeoutError(field, options.timeoutMs, { cause: err }), field);
    if (headers?.signal.aborted) throw withField(new InputTimeoutError(field, connectMs, { cause: err }), field);
    throw fetchError(field, `could not fetch ${redact(url)}: ${describeNetworkError(err)}`, err);
  } finally {
    clearTimeout(totalTimer);
    clearTimeout(headersTimer);
  }
}

/** Stream the body to `file`, one awaited write at a time (backpressure), refusing more than `maxBytes`. */
async function saveBody(res: Response, file: string, field: string, maxBytes: number): Promise<number> {
  const fh = await open(file, 'wx', 0o600);
  let bytes = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        bytes += chunk.length;
        if (bytes > maxBytes) throw withField(new InputTooLargeError(field, maxBytes), field);
        await fh.write(chunk);
      }
    }
  } finally {
    await fh.close();
  }
  return bytes;
}

async function resolveLocal(ref: string, field: string, options: FetchInputOptions): Promise<FetchedInput> {
  if (options.inputRoots.length === 0) {
    throw forbidden(field, 'local paths are disabled on this server (INPUT_ROOTS is not set); pass an http(s) URL');
  }
  if (!isAbsolute(ref)) throw forbidden(field, 'a local path must be absolute');
  // Lexical check first, so paths outside the roots are refused without touching the file system.
  const lexical = resolve(ref);
  if (!options.inputRoots.some((root) => isInside(resolve(root), lexical))) {
    throw forbidden(field, 'path is outside the allowed input roots');
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (err) {
    throw fetchError(field, 'file not found or not readable', err);
  }
  const realRoots = await Promise.all(options.inputRoots.map((root) => realpath(root).catch(() => undefined)));
  if (!realRoots.some((root) => root !== undefined && isInside(root, real))) {
    throw forbidden(field, 'path leads (through a symlink) outside the allowed input roots');
  }
  const info = await stat(real).catch((err: unknown) => {
    throw fetchError(field, 'file not found or not readable', err);
  });
  if (!info.isFile()) throw fetchError(field, 'not a regular file');
  if (info.size > options.maxBytes) throw withField(new InputTooLargeError(field, options.maxBytes), field);
  return { file: real, bytes: info.size };
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function checkScheme(url: URL, field: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw forbidden(field, `redirected to a '${url.protocol}' URL; only http(s) is followed`);
  }
}

/** An IP-literal host is connected to without a lookup: check it before the request. */
function checkLiteralAddress(url: URL, field: string): void {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0 && !isPublicAddress(host)) {
    throw forbidden(field, `${redact(url)}: ${host} is not a public address (ALLOW_PRIVATE_URLS=1 allows it)`);
  }
}

function privateAddressCause(err: unknown): PrivateAddressError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof PrivateAddressError) return e;
  }
  return undefined;
}

/** Origin and path only: query strings often carry signatures or tokens. */
function redact(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function isCatalogued(err: unknown): boolean {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('C3S_ERR_');
}

function forbidden(field: string, message: string): Error {
  return withField(new InputForbiddenError(field, message), field);
}

function fetchError(field: string, message: string, cause?: unknown): Error {
  // @fastify/error formats every argument it is given into the message: pass the options only with a cause
  const err = cause === undefined ? new InputFetchError(field, message) : new InputFetchError(field, message, { cause });
  return withField(err, field);
}
