/**
 * Calls into native code on this thread (ONNX Runtime's session create, run and release), counted in a shared
 * Int32Array slot that the main thread reads while this thread is blocked.
 *
 * Why: `Worker.terminate()` while the thread is inside onnxruntime-node's binding makes the binding throw a
 * C++ exception nobody catches when the call returns ("terminate called after throwing an instance of
 * 'Napi::Error'"): the whole process aborts. So the pool terminates a worker only after `lockNativeCalls`
 * succeeds (no call in progress, and none can start after), and a cancelled job stops before its next call
 * (the guard the worker sets for each run) instead of starting another one. No dependencies: the worker entry
 * imports it without loading ONNX Runtime.
 */

let counter: Int32Array | undefined;
let index = 0;
let guard: (() => void) | undefined;

/** Thrown by nativeCall once main has locked the slot to terminate this worker. */
export class WorkerTerminatingError extends Error {
  constructor() {
    super('the inference worker is being terminated');
    this.name = 'WorkerTerminatingError';
  }
}

/** Count this thread's native calls in `view[slot]` (the worker does this once, with its shared buffer). */
export function shareNativeCallCount(view: Int32Array, slot: number): void {
  counter = view;
  index = slot;
}

/** Run before every native call (throws to refuse it, e.g. when the current job was cancelled); undefined clears it. */
export function setNativeCallGuard(check: (() => void) | undefined): void {
  guard = check;
}

/** Run `call` (which enters native code) counted as one native call until it settles. */
export async function nativeCall<T>(call: () => Promise<T>): Promise<T> {
  guard?.();
  const c = counter;
  if (c) {
    for (;;) {
      const n = Atomics.load(c, index);
      if (n < 0) throw new WorkerTerminatingError();
      if (Atomics.compareExchange(c, index, n, n + 1) === n) break;
    }
  }
  try {
    return await call();
  } finally {
    if (c) Atomics.sub(c, index, 1);
  }
}

/**
 * Main side: lock `view[slot]` against native calls if none is in progress (0 → −1). True when locked (now, or
 * already by an earlier call): the worker can then be terminated safely (its next native call throws
 * WorkerTerminatingError). False while a call runs.
 */
export function lockNativeCalls(view: Int32Array, slot: number): boolean {
  const before = Atomics.compareExchange(view, slot, 0, -1);
  return before === 0 || before === -1;
}

/** Main side: native calls in progress in the worker (−1 once locked). */
export function nativeCallsInProgress(view: Int32Array, slot: number): number {
  return Atomics.load(view, slot);
}
