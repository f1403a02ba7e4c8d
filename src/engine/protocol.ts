import type { ConditioningInput, JobProgress, JobSpec, PipelineResult, WireError } from '../shared/index.js';

/**
 * Messages between the main thread (jobs/pool.ts) and an inference worker (engine/worker.ts).
 * Cancellation does not travel as a message: the worker's event loop is blocked while ONNX Runtime runs, so
 * main writes the job's run number into a shared Int32Array (CANCEL_SLOT) and the worker reads it between steps.
 */
export type ToWorker =
  | { readonly type: 'run'; readonly jobId: string; readonly spec: JobSpec; readonly input: ConditioningInput }
  | { readonly type: 'shutdown' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly jobId: string; readonly progress: JobProgress }
  | { readonly type: 'result'; readonly jobId: string; readonly result: PipelineResult }
  | { readonly type: 'error'; readonly jobId: string; readonly error: WireError; readonly timings?: Readonly<Record<string, number>> };

/**
 * workerData of every inference worker. `cancel` is a SharedArrayBuffer of CANCEL_FLAG_BYTES: slot CANCEL_SLOT
 * holds the run number (1, 2, … in the order runs were posted to this worker) that main wants stopped; slot
 * NATIVE_CALLS_SLOT the worker's calls into ONNX Runtime in progress (main must not terminate it then).
 */
export interface WorkerInit {
  /** File URL of a module exporting `createRunner: CreateRunner` (engine/runner.ts). */
  readonly runnerModule: string;
  readonly modelDir: string;
  readonly device: string;
  readonly cancel: SharedArrayBuffer;
  /** Passed through to createRunner as `options` (runner-specific settings, e.g. for test doubles). */
  readonly runnerOptions?: Readonly<Record<string, unknown>>;
}

export const CANCEL_FLAG_BYTES = 8;
export const CANCEL_SLOT = 0;
/** Slot of the same buffer: the worker's native calls in progress (engine/native-calls.ts). */
export const NATIVE_CALLS_SLOT = 1;

/** The ArrayBuffer behind a typed array when it can be moved (whole, not shared, not Node's Buffer pool); else undefined. */
export function transferableBuffer(view: ArrayBufferView | undefined): ArrayBuffer | undefined {
  if (view === undefined) return undefined;
  const buffer = view.buffer;
  if (!(buffer instanceof ArrayBuffer)) return undefined;
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return undefined;
  return buffer;
}

/** Exhaustiveness guard for switches over the unions above. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
