/**
 * Cooperative cancellation between denoising steps. An aborted signal throws its reason: whatever the
 * caller passed to `AbortController.abort(reason)`, else the platform's DOMException named 'AbortError'.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

/** True for the default abort reason (DOMException 'AbortError') or any error named so. */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}
