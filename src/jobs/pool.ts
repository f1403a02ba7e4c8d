import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../config/index.js';
import { CANCEL_FLAG_BYTES, CANCEL_SLOT, NATIVE_CALLS_SLOT, disableOrtTelemetry, lockNativeCalls, transferableBuffer, unreachable, type FromWorker, type ToWorker, type WorkerInit } from '../engine/index.js';
import {
  ShuttingDownError,
  WorkerCrashedError,
  WorkerStartError,
  fromWireError,
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
  /** A wait for the worker's native call was logged (once per wait). */
  nativeWaitLogged?: boolean;
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
        let timer: NodeJS.Timeout | undefined;
        const expire = (): void => {
          if (!this.#lockForTermination(slot, 'closing: waiting for its ONNX Runtime call to return before terminating it')) {
            timer = setTimeout(expire, NATIVE_WAIT_POLL_MS);
            timer.unref();
          } else {
            void worker.terminate();
          }
        };
        timer = setTimeout(expire, graceMs);
        timer.unref();
        await exited;
        clearTimeout(timer);
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
    slot.nativeWaitLogged = false;
    slot.runCount = 0;
    slot.state = 'starting';
    slot.lastError = undefined;
    slot.terminating = undefined;
    disableOrtTelemetry(); // in the native environment, which the worker's ONNX Runtime reads
    const worker = new Worker(this.#opts.workerFile ?? defaultWorkerFile(), { workerData: init, name: `c3s-${slot.device}` });
    slot.worker = worker;
    const startExpired = (): void => {
      if (slot.worker !== worker) return;
      if (!this.#lockForTermination(slot, 'not ready in time: waiting for its ONNX Runtime call to return before terminating it')) {
        slot.startTimer = setTimeout(startExpired, NATIVE_WAIT_POLL_MS);
        slot.startTimer.unref();
        return;
      }
      slot.lastError = new Error(`not ready within ${this.#opts.startupTimeoutMs ?? 1_200_000} ms`);
      void worker.terminate();
    };
    slot.startTimer = setTimeout(startExpired, this.#opts.startupTimeoutMs ?? 1_200_000);
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
          this.#settle(slot, (r) => r.reject(r.hooks.signal.aborted ? r.hooks.signal.reason : fromWireError(msg.error)));
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
    if (running.onAbort) running.hooks.signal.removeEventListener('abort', running.onAbort);
    if (slot.state === 'busy') slot.state = 'idle';
    action(running);
    this.#release(slot);
  }

  #cancel(slot: Slot, running: Running): void {
    if (slot.current !== running) return;
    Atomics.store(slot.cancel, CANCEL_SLOT, running.runNumber);
    const grace = this.#opts.cancelGraceMs ?? 60_000;
    const expire = (): void => {
      if (slot.current !== running || slot.worker === undefined) return;
      if (!this.#lockForTermination(slot, 'cancelled run is inside an ONNX Runtime call, which cannot be interrupted: it stops when the call returns', running.jobId)) {
        running.cancelTimer = setTimeout(expire, NATIVE_WAIT_POLL_MS);
        running.cancelTimer.unref();
        return;
      }
      this.#log.warn({ jobId: running.jobId, device: slot.device, graceMs: grace }, 'cancelled run did not stop: terminating its worker');
      slot.terminating = running.hooks.signal.reason;
      void slot.worker.terminate();
    };
    running.cancelTimer = setTimeout(expire, grace);
    running.cancelTimer.unref();
  }

  /**
   * Lock the slot's worker out of native calls so that it can be terminated; false (and `why` logged once per
   * wait) while it is inside one, when terminating it would abort the process.
   */
  #lockForTermination(slot: Slot, why: string, jobId?: string): boolean {
    if (lockNativeCalls(slot.cancel, NATIVE_CALLS_SLOT)) return true;
    if (!slot.nativeWaitLogged) {
      this.#log.warn({ device: slot.device, ...(jobId ? { jobId } : {}) }, why);
      slot.nativeWaitLogged = true;
    }
    return false;
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
    if (slot.state !== 'idle' || slot.current !== undefined) return;
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
