import type { Job } from './job.js';

export interface StoreOptions {
  /** Finished retained jobs are dropped this long after they finished. */
  readonly ttlMs: number;
  /** Total result bytes kept; the oldest finished jobs go first. */
  readonly maxBytes: number;
  readonly now?: () => number;
}

/**
 * Every live job by id, plus finished async results kept for a while (TTL) and within a byte budget.
 * Jobs not meant to be retained (/predict) leave the store as soon as they finish. `sweep()` runs on a timer
 * owned by the caller (the app, unref()ed and cleared on close) and on every finish.
 */
export class JobStore {
  readonly #opts: StoreOptions;
  readonly #jobs = new Map<string, Job>();
  /** Finished retained jobs in finishing order (oldest first). */
  readonly #finished: Job[] = [];
  #bytes = 0;

  constructor(opts: StoreOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#jobs.size;
  }

  /** Result bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  add(job: Job): void {
    this.#jobs.set(job.id, job);
  }

  /** The job, or undefined once its result has expired: a lookup sweeps first (the timer's sweep may be up to 30 s away). */
  get(id: string): Job | undefined {
    this.sweep();
    return this.#jobs.get(id);
  }

  /** Called once when a job reaches a terminal state. */
  finished(job: Job): void {
    if (!job.retain) {
      this.#jobs.delete(job.id);
      return;
    }
    this.#finished.push(job);
    this.#bytes += job.resultBytes;
    this.sweep();
  }

  /** Drop expired results, then the oldest until the byte budget holds. */
  sweep(): void {
    const now = (this.#opts.now ?? Date.now)();
    while (this.#finished.length > 0) {
      const oldest = this.#finished[0];
      const expired = now - (oldest.finishedAt ?? now) >= this.#opts.ttlMs;
      const over = this.#bytes > this.#opts.maxBytes;
      if (!expired && !over) break;
      this.#finished.shift();
      this.#bytes -= oldest.resultBytes;
      this.#jobs.delete(oldest.id);
    }
  }
}
