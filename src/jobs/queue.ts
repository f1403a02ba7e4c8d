import {
  InternalError,
  JobCancelledError,
  JobTimeoutError,
  QueueFullError,
  ShuttingDownError,
  type JobProgress,
  type JobSpec,
  type Logger,
} from '../shared/index.js';
import { Job, isTerminal, type JobOutput, type StopReason } from './job.js';
import type { JobStore } from './store.js';

/** Runs one job end to end (jobs/run-job.ts); rejects with the abort reason when `signal` fires. */
export type ExecuteJob = (job: Job, hooks: { signal: AbortSignal; onProgress(progress: JobProgress): void }) => Promise<JobOutput>;

export interface QueueObserver {
  onSubmit?(job: Job): void;
  onStart?(job: Job): void;
  onProgress?(job: Job, progress: JobProgress): void;
  onFinish?(job: Job): void;
}

export interface QueueOptions {
  /** Jobs allowed to wait (running ones not counted); beyond it submit() throws QueueFullError (429). */
  readonly maxQueued: number;
  /** Jobs running at once (one per worker). */
  readonly concurrency: number;
  /** Running-time limit per job (queue wait excluded); past it the job stops at its next step with 504. */
  readonly timeoutMs: number;
  readonly execute: ExecuteJob;
  readonly store: JobStore;
  readonly observer?: QueueObserver;
  readonly now?: () => number;
}

/**
 * The bounded FIFO in front of the workers: admission (429 when full, 503 when shutting down), dispatch in
 * arrival order, per-job deadlines, and cancellation of queued jobs (removed at once) and running ones (their
 * signal aborts; the worker stops at the next step and the slot is freed when it has).
 */
export class JobQueue {
  readonly #opts: QueueOptions;
  readonly #waiting: Job[] = [];
  readonly #running = new Set<Job>();
  #accepting = true;
  /** Exponential moving average of running time, for Retry-After. */
  #avgRunMs = 0;

  constructor(opts: QueueOptions) {
    this.#opts = opts;
  }

  get depth(): number {
    return this.#waiting.length;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Seconds a client should wait before retrying a refused submit. */
  retryAfterSeconds(): number {
    const perJobS = this.#avgRunMs > 0 ? this.#avgRunMs / 1000 : 10;
    const waves = (this.#waiting.length + 1) / Math.max(1, this.#opts.concurrency);
    return Math.max(1, Math.min(3600, Math.ceil(perJobS * waves)));
  }

  /** Admit a job (throws QueueFullError or ShuttingDownError) and dispatch it when a slot is free. */
  submit(spec: JobSpec, options: { retain: boolean; log?: Logger; id?: string }): Job {
    if (!this.#accepting) throw new ShuttingDownError();
    if (this.#waiting.length >= this.#opts.maxQueued && this.#running.size >= this.#opts.concurrency) {
      throw new QueueFullError(this.#waiting.length);
    }
    const job = new Job(spec, { ...options, now: this.#now() });
    this.#opts.store.add(job);
    this.#waiting.push(job);
    this.#opts.observer?.onSubmit?.(job);
    job.log.debug({ mode: spec.mode, position: this.#waiting.length }, 'job queued');
    this.#dispatch();
    return job;
  }

  /** 1-based position among waiting jobs; null when not waiting. */
  position(job: Job): number | null {
    const i = this.#waiting.indexOf(job);
    return i < 0 ? null : i + 1;
  }

  /** Stop a job: a waiting one is finished now; a running one at its next step. False when already finished. */
  cancel(job: Job, reason: StopReason): boolean {
    if (isTerminal(job.state)) return false;
    if (job.stopReason === undefined) job.stopReason = reason;
    const i = this.#waiting.indexOf(job);
    if (i >= 0) {
      this.#waiting.splice(i, 1);
      for (const behind of this.#waiting.slice(i)) behind.movedUp();
      job.controller.abort(stopError(job, job.stopReason, this.#opts.timeoutMs));
      this.#finish(job, undefined, job.controller.signal.reason);
      return true;
    }
    if (!job.controller.signal.aborted) job.controller.abort(stopError(job, job.stopReason, this.#opts.timeoutMs));
    return true;
  }

  /**
   * Graceful stop: refuse new jobs, cancel the waiting ones, let running ones finish within `graceMs`, then
   * cancel them and wait for their workers to let go.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#accepting = false;
    for (const job of [...this.#waiting]) this.cancel(job, 'shutdown');
    const running = [...this.#running];
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), graceMs);
      timer.unref();
    });
    const allDone = Promise.all(running.map((j) => j.done)).then(() => 'done' as const);
    const first = await Promise.race([allDone, graceOver]);
    clearTimeout(timer);
    if (first === 'grace') {
      for (const job of this.#running) this.cancel(job, 'shutdown');
      await allDone;
    }
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #dispatch(): void {
    const waiting = this.#waiting.length;
    while (this.#running.size < this.#opts.concurrency && this.#waiting.length > 0) {
      void this.#start(this.#waiting.shift()!);
    }
    if (this.#waiting.length < waiting) for (const behind of this.#waiting) behind.movedUp();
  }

  async #start(job: Job): Promise<void> {
    this.#running.add(job);
    job.setState('running', this.#now());
    this.#opts.observer?.onStart?.(job);
    const deadline = setTimeout(() => {
      job.log.warn({ timeoutMs: this.#opts.timeoutMs }, 'job past its time limit: stopping it');
      this.cancel(job, 'timeout');
    }, this.#opts.timeoutMs);
    deadline.unref();
    try {
      const output = await this.#opts.execute(job, {
        signal: job.controller.signal,
        onProgress: (progress) => {
          if (isTerminal(job.state)) return;
          job.setProgress(progress);
          this.#opts.observer?.onProgress?.(job, progress);
        },
      });
      if (job.controller.signal.aborted) this.#finish(job, undefined, job.controller.signal.reason);
      else this.#finish(job, output, undefined);
    } catch (err) {
      this.#finish(job, undefined, job.controller.signal.aborted ? job.controller.signal.reason : err);
    } finally {
      clearTimeout(deadline);
      this.#running.delete(job);
      this.#dispatch();
    }
  }

  #finish(job: Job, output: JobOutput | undefined, err: unknown): void {
    const now = this.#now();
    if (output !== undefined) {
      job.output = output;
      job.setProgress({ stage: 'done', step: job.progress?.totalSteps ?? job.spec.numSteps, totalSteps: job.progress?.totalSteps ?? job.spec.numSteps });
      job.setState('succeeded', now);
    } else {
      job.error = err instanceof Error ? err : new InternalError(String(err));
      const cancelled = job.stopReason === 'cancelled' || job.stopReason === 'disconnect' || job.stopReason === 'shutdown';
      job.setState(cancelled ? 'cancelled' : 'failed', now);
    }
    if (job.startedAt !== undefined) {
      const ran = now - job.startedAt;
      this.#avgRunMs = this.#avgRunMs === 0 ? ran : 0.8 * this.#avgRunMs + 0.2 * ran;
    }
    const level = job.state === 'failed' ? 'warn' : 'info';
    job.log[level](
      { state: job.state, code: (job.error as { code?: string } | undefined)?.code, ms: job.startedAt ? now - job.startedAt : 0 },
      `job ${job.state}`,
    );
    this.#opts.observer?.onFinish?.(job);
    this.#opts.store.finished(job);
  }
}

function stopError(job: Job, reason: StopReason, timeoutMs: number): Error {
  switch (reason) {
    case 'timeout':
      return new JobTimeoutError(Math.round(timeoutMs / 1000));
    case 'shutdown':
      return new ShuttingDownError();
    case 'cancelled':
    case 'disconnect':
      return new JobCancelledError(job.id);
  }
}
