import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../config/index.js';
import { CANCEL_FLAG_BYTES, CANCEL_SLOT, NATIVE_CALLS_SLOT, disableOrtTelemetry, lockNativeCalls, nativeCallsInProgress, transferableBuffer, unreachable, type FromWorker, type ToWorker, type WorkerInit } from '../engine/index.js';
import {
  ShuttingDownError,
  WorkerCrashedError,
  WorkerStartError,
  fromWireError,
  withWorkerTimings,
  silentLogger,
  type ConditioningInput,
  type JobProgress,
  type JobSpec,
  type Logger,
  type PipelineResult,
} from '../shared/index.js';

/**
 * The worker pool, main side: one worker_threads worker per device, each owning its runner. A job borrows an idle
 * worker, gets progress messages, and is stopped between steps through the worker's shared cancel flag. A worker
 * that dies fails its job (WorkerCrashedError, 500) and is restarted with backoff; one that ignores a cancel for
 * `cancelGraceMs` is terminated and restarted — but never while it is inside an ONNX Runtime call (the binding
 * then aborts the whole process): the pool waits for the call to return, checking every NATIVE_WAIT_POLL_MS, and
 * terminates only once it has locked the worker out of further calls (engine/native-calls.ts). A cancelled job
 * stops before its next ONNX Runtime run in any case.
 */

/** How often a termination waiting for a worker's native call checks again. */
const NATIVE_WAIT_POLL_MS = 250;
/**
 * After such a wait, how long the worker gets to stop by itself before it is terminated: a cancelled run stops at
 * its next check, right after the call returns (terminating it then would reload the model for nothing).
 */
const NATIVE_SETTLE_MS = 1_000;
/**
 * A native call still running after this long is taken as wedged: the worker is terminated anyway (which may abort
 * the process, for the supervisor to restart) rather than waiting forever.
 */
const NATIVE_WAIT_LIMIT_MS = 10 * 60_000;

/** A pending termination (see #terminateWhenSafe); cancel() drops it. */
interface Termination {
  cancel(): void;
}

export interface PoolOptions {
  readonly devices: readonly string[];
  readonly modelDir: string;
  /** File URL of the runner module (default: defaultRunnerModule()). */
  readonly runnerModule?: string;
  readonly runnerOptions?: Readonly<Record<string, unknown>>;
  /** The worker entry (default: defaultWorkerFile()). */
  readonly workerFile?: URL;
  readonly logger?: Logger;
  /** Loading + warm-up limit per worker start (default 20 min). */
  readonly startupTimeoutMs?: number;
  /** A cancelled run still going after this long is terminated (default 60 s). */
  readonly cancelGraceMs?: number;
  /** First restart delay after a crash; doubles per consecutive failure up to 30 s (default 200 ms). */
  readonly restartDelayMs?: number;
}

export interface PoolRunHooks {
  readonly signal: AbortSignal;
  onProgress(progress: JobProgress): void;
}

/** What run-job needs from the pool (tests may substitute it). */
export interface JobExecutor {
  run(jobId: string, spec: JobSpec, input: ConditioningInput, hooks: PoolRunHooks): Promise<PipelineResult>;
}

export type WorkerEvent = { readonly type: 'crash' | 'restart' | 'ready'; readonly device: string };

/** What the HTTP app needs from the pool: run jobs, report readiness, close. */
export interface PoolHandle extends JobExecutor {
  readonly size: number;
  /** Workers loaded and warmed up now. */
  readonly readyCount: number;
  /** Every worker was ready at least once (start() resolved). */
  readonly started: boolean;
  close(graceMs?: number): Promise<void>;
  onWorkerEvent(listener: (event: WorkerEvent) => void): () => void;
}

/** dist/src/engine/<file> beside this module when compiled; under the project root's dist/ when run from sources. */
function compiledEngineFile(file: string): URL {
  if (import.meta.url.endsWith('.js')) return new URL(`../engine/${file}`, import.meta.url);
  return pathToFileURL(join(projectRoot(import.meta.url), 'dist', 'src', 'engine', file));
}

export function defaultWorkerFile(): URL {
  return compiledEngineFile('worker.js');
}

/** The ONNX Runtime runner (src/engine/ort-runner.ts, compiled). */
export function defaultRunnerModule(): string {
  return compiledEngineFile('ort-runner.js').href;
}

interface Running {
  readonly jobId: string;
  readonly runNumber: number;
  readonly hooks: PoolRunHooks;
  resolve(result: PipelineResult): void;
  reject(err: unknown): void;
  cancelTimer?: NodeJS.Timeout;
  termination?: Termination;
  onAbort?: () => void;
}

interface Slot {
  readonly device: string;
  readonly cancel: Int32Array;
  readonly cancelBuffer: SharedArrayBuffer;
  worker?: Worker;
  state: 'starting' | 'idle' | 'busy' | 'stopped';
  runCount: number;
  failures: number;
  current?: Running;
  lastError?: unknown;
  startTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  /** Set while a worker is being replaced on purpose (cancel grace ran out). */
  terminating?: unknown;
  /** The start-up time limit's termination, once it ran out. */
  startTermination?: Termination;
}

interface Waiter {
  resolve(slot: Slot): void;
  reject(err: unknown): void;
}

export class WorkerPool implements PoolHandle {
  readonly #opts: PoolOptions;
  readonly #log: Logger;
  readonly #slots: Slot[];
  readonly #waiters: Waiter[] = [];
  readonly #listeners = new Set<(event: WorkerEvent) => void>();
  #closed = false;
  #started = false;
  #startWaiters: { resolve(): void; reject(err: unknown): void } | undefined;

  constructor(opts: PoolOptions) {
    if (opts.devices.length === 0) throw new RangeError('WorkerPool: at least one device');
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#slots = opts.devices.map((device) => {
      const cancelBuffer = new SharedArrayBuffer(CANCEL_FLAG_BYTES);
      return { device, cancelBuffer, cancel: new Int32Array(cancelBuffer), state: 'stopped', runCount: 0, failures: 0 };
    });
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Workers loaded, warmed up and not shutting down. */
  get readyCount(): number {
    return this.#closed ? 0 : this.#slots.filter((s) => s.state === 'idle' || s.state === 'busy').length;
  }

  get started(): boolean {
    return this.#started && !this.#closed;
  }

  onWorkerEvent(listener: (event: WorkerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: WorkerEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  get busyCount(): number {
    return this.#slots.filter((s) => s.state === 'busy').length;
  }

  /** Start every worker; resolves when all are ready, rejects (WorkerStartError) when one fails its first start. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new ShuttingDownError());
    const started = new Promise<void>((resolve, reject) => {
      this.#startWaiters = { resolve, reject };
    });
    for (const slot of this.#slots) if (slot.state === 'stopped') this.#spawn(slot);
    return started;
  }

  async run(jobId: string, spec: JobSpec, input: ConditioningInput, hooks: PoolRunHooks): Promise<PipelineResult> {
    hooks.signal.throwIfAborted();
    const slot = await this.#acquire(hooks.signal);
    return new Promise<PipelineResult>((resolve, reject) => {
      const worker = slot.worker;
      if (worker === undefined) {
        reject(new WorkerCrashedError('worker gone before the run started'));
        return;
      }
      const running: Running = { jobId, runNumber: ++slot.runCount, hooks, resolve, reject };
      slot.current = running;
      slot.state = 'busy';
      running.onAbort = () => this.#cancel(slot, running);
      hooks.signal.addEventListener('abort', running.onAbort, { once: true });
      const buffer = transferableBuffer(input.frames?.data);
      const msg: ToWorker = { type: 'run', jobId, spec, input };
      worker.postMessage(msg, buffer ? [buffer] : []);
      if (hooks.signal.aborted) this.#cancel(slot, running);
    });
  }

  /** Stop every worker: waiting callers get ShuttingDownError; running jobs are cancelled (callers should drain first). */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(new ShuttingDownError());
    this.#startWaiters?.reject(new ShuttingDownError());
    this.#startWaiters = undefined;
    await Promise.all(
      this.#slots.map(async (slot) => {
        clearTimeout(slot.restartTimer);
        clearTimeout(slot.startTimer);
        const worker = slot.worker;
        if (worker === undefined) return;
        if (slot.current) {
          Atomics.store(slot.cancel, CANCEL_SLOT, slot.current.runNumber);
        }
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        const shutdown: ToWorker = { type: 'shutdown' };
        worker.postMessage(shutdown);
        let termination: Termination | undefined;
        const timer = setTimeout(() => {
          termination = this.#terminateWhenSafe(slot, worker, { why: 'closing: waiting for its ONNX Runtime call to return before terminating it' });
        }, graceMs);
        timer.unref();
        await exited;
        clearTimeout(timer);
        termination?.cancel();
      }),
    );
  }

  #spawn(slot: Slot): void {
    const init: WorkerInit = {
      runnerModule: this.#opts.runnerModule ?? defaultRunnerModule(),
      modelDir: this.#opts.modelDir,
      device: slot.device,
      cancel: slot.cancelBuffer,
      ...(this.#opts.runnerOptions ? { runnerOptions: this.#opts.runnerOptions } : {}),
    };
    Atomics.store(slot.cancel, CANCEL_SLOT, 0);
    Atomics.store(slot.cancel, NATIVE_CALLS_SLOT, 0); // a worker that died inside a call left its count
    slot.startTermination?.cancel();
    slot.startTermination = undefined;
    slot.runCount = 0;
    slot.state = 'starting';
    slot.lastError = undefined;
    slot.terminating = undefined;
    disableOrtTelemetry(); // in the native environment, which the worker's ONNX Runtime reads
    const worker = new Worker(this.#opts.workerFile ?? defaultWorkerFile(), { workerData: init, name: `c3s-${slot.device}` });
    slot.worker = worker;
    const limitMs = this.#opts.startupTimeoutMs ?? 1_200_000;
    slot.startTimer = setTimeout(() => {
      slot.startTermination = this.#terminateWhenSafe(slot, worker, {
        why: 'not ready in time: waiting for its ONNX Runtime call to return before terminating it',
        stillWanted: () => slot.state === 'starting',
        before: () => {
          slot.lastError = new Error(`not ready within ${limitMs} ms`);
        },
      });
    }, limitMs);
    slot.startTimer.unref();
    worker.on('message', (msg: FromWorker) => this.#onMessage(slot, worker, msg));
    worker.on('error', (err) => {
      slot.lastError = err;
      this.#log.error({ err, device: slot.device }, 'inference worker error');
    });
    worker.on('exit', (code) => this.#onExit(slot, worker, code));
  }

  #onMessage(slot: Slot, worker: Worker, msg: FromWorker): void {
    if (slot.worker !== worker) return;
    switch (msg.type) {
      case 'ready':
        clearTimeout(slot.startTimer);
        slot.startTermination?.cancel();
        slot.startTermination = undefined;
        slot.failures = 0;
        slot.state = 'idle';
        this.#log.info({ device: slot.device }, 'inference worker ready');
        this.#emit({ type: 'ready', device: slot.device });
        if (this.#slots.every((s) => s.state === 'idle' || s.state === 'busy')) {
          this.#started = true;
          this.#startWaiters?.resolve();
          this.#startWaiters = undefined;
        }
        this.#release(slot);
        return;
      case 'progress':
        if (slot.current?.jobId === msg.jobId) {
          try {
            slot.current.hooks.onProgress(msg.progress);
          } catch (err) {
            this.#log.warn({ err, jobId: msg.jobId }, 'progress listener failed');
          }
        }
        return;
      case 'result':
        if (slot.current?.jobId === msg.jobId) this.#settle(slot, (r) => r.resolve(msg.result));
        return;
      case 'error':
        if (slot.current?.jobId === msg.jobId) {
          this.#settle(slot, (r) => r.reject(withWorkerTimings(r.hooks.signal.aborted ? r.hooks.signal.reason : fromWireError(msg.error), msg.timings)));
        }
        return;
      default:
        unreachable(msg);
    }
  }

  #settle(slot: Slot, action: (running: Running) => void): void {
    const running = slot.current;
    if (running === undefined) return;
    slot.current = undefined;
    clearTimeout(running.cancelTimer);
    running.termination?.cancel();
    if (running.onAbort) running.hooks.signal.removeEventListener('abort', running.onAbort);
    // a worker being terminated takes no further job: its replacement will
    if (slot.state === 'busy' && slot.terminating === undefined) slot.state = 'idle';
    action(running);
    this.#release(slot);
  }

  #cancel(slot: Slot, running: Running): void {
    if (slot.current !== running) return;
    Atomics.store(slot.cancel, CANCEL_SLOT, running.runNumber);
    const grace = this.#opts.cancelGraceMs ?? 60_000;
    running.cancelTimer = setTimeout(() => {
      const worker = slot.worker;
      if (slot.current !== running || worker === undefined) return;
      running.termination = this.#terminateWhenSafe(slot, worker, {
        why: 'cancelled run is inside an ONNX Runtime call, which cannot be interrupted: it stops when the call returns',
        jobId: running.jobId,
        stillWanted: () => slot.current === running,
        before: () => {
          this.#log.warn({ jobId: running.jobId, device: slot.device, graceMs: grace }, 'cancelled run did not stop: terminating its worker');
          slot.terminating = running.hooks.signal.reason;
        },
      });
    }, grace);
    running.cancelTimer.unref();
  }

  /**
   * Terminate `worker` once that cannot abort the process: not while it is inside an ONNX Runtime call (checked every
   * NATIVE_WAIT_POLL_MS, `why` logged once), and after such a wait only if it has not stopped by itself within
   * NATIVE_SETTLE_MS; then the count is locked (0 → −1) so that no call starts before the thread is gone. A call
   * running past NATIVE_WAIT_LIMIT_MS is taken as wedged and the worker terminated anyway. Nothing happens once
   * the worker is gone or `stillWanted()` turns false.
   */
  #terminateWhenSafe(slot: Slot, worker: Worker, o: { why: string; jobId?: string; stillWanted?: () => boolean; before?: () => void }): Termination {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let waited = false;
    let settleUntil = 0;
    const ids = { device: slot.device, ...(o.jobId ? { jobId: o.jobId } : {}) };
    const again = (ms: number): void => {
      timer = setTimeout(attempt, ms);
      timer.unref();
    };
    const attempt = (): void => {
      if (slot.worker !== worker || (o.stillWanted && !o.stillWanted())) return;
      const now = Date.now();
      const inside = nativeCallsInProgress(slot.cancel, NATIVE_CALLS_SLOT) > 0;
      if (inside && now - started < NATIVE_WAIT_LIMIT_MS) {
        if (!waited) this.#log.warn(ids, o.why);
        waited = true;
        settleUntil = 0;
        again(NATIVE_WAIT_POLL_MS);
        return;
      }
      if (!inside && waited) {
        if (settleUntil === 0) settleUntil = now + NATIVE_SETTLE_MS;
        if (now < settleUntil) {
          again(settleUntil - now);
          return;
        }
      }
      if (inside) {
        this.#log.error({ ...ids, waitedMs: now - started }, 'an ONNX Runtime call did not return: terminating its worker anyway (this may abort the process)');
      } else if (!lockNativeCalls(slot.cancel, NATIVE_CALLS_SLOT)) {
        again(NATIVE_WAIT_POLL_MS); // a call started between the check and the lock
        return;
      }
      o.before?.();
      void worker.terminate();
    };
    attempt();
    return { cancel: () => clearTimeout(timer) };
  }

  #onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    clearTimeout(slot.startTimer);
    slot.worker = undefined;
    const wasStarting = slot.state === 'starting';
    slot.state = 'stopped';
    const running = slot.current;
    if (running) {
      slot.current = undefined;
      clearTimeout(running.cancelTimer);
      if (running.onAbort) running.hooks.signal.removeEventListener('abort', running.onAbort);
      if (running.hooks.signal.aborted) running.reject(running.hooks.signal.reason);
      else running.reject(new WorkerCrashedError(`exit code ${code}`, { cause: slot.lastError }));
    }
    if (this.#closed) return;
    const planned = slot.terminating !== undefined;
    if (wasStarting) {
      const err = new WorkerStartError(slot.device, errorText(slot.lastError) ?? `exit code ${code}`, { cause: slot.lastError });
      this.#log.error({ err, device: slot.device }, 'inference worker failed to start');
      if (this.#startWaiters) {
        this.#startWaiters.reject(err);
        this.#startWaiters = undefined;
        return;
      }
    } else if (!planned) {
      this.#log.error({ device: slot.device, exitCode: code, err: slot.lastError }, 'inference worker crashed');
      this.#emit({ type: 'crash', device: slot.device });
    }
    const delay = Math.min(30_000, (this.#opts.restartDelayMs ?? 200) * 2 ** slot.failures);
    slot.failures += 1;
    slot.restartTimer = setTimeout(() => {
      if (this.#closed) return;
      this.#emit({ type: 'restart', device: slot.device });
      this.#spawn(slot);
    }, planned ? 0 : delay);
    slot.restartTimer.unref();
  }

  #acquire(signal: AbortSignal): Promise<Slot> {
    if (this.#closed) return Promise.reject(new ShuttingDownError());
    const idle = this.#slots.find((s) => s.state === 'idle' && s.current === undefined);
    if (idle) {
      idle.state = 'busy';
      return Promise.resolve(idle);
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (slot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Hand an idle worker to the first waiter. */
  #release(slot: Slot): void {
    if (slot.state !== 'idle' || slot.current !== undefined || slot.terminating !== undefined) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      slot.state = 'busy';
      waiter.resolve(slot);
    }
  }
}

function errorText(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? err.message : String(err);
}
