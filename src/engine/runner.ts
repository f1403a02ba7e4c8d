import type { ConditioningInput, JobProgress, JobSpec, PipelineResult } from '../shared/index.js';

/**
 * What a worker runs: one runner per worker (per device), loaded from the module named in workerData
 * (`runnerModule`, a file URL) through its exported `createRunner`. The default module is the ONNX Runtime
 * runner (dist/src/engine/ort-runner.js); tests use test/support/fake-runner.mjs.
 */
export interface RunHooks {
  /**
   * Aborted when main cancels the job (DELETE, deadline, client gone, shutdown). The worker refreshes it on
   * every `onProgress` call and on a 20 ms timer whenever the runner awaits; pass it to anything abortable.
   */
  readonly signal: AbortSignal;
  /**
   * Report progress after every step (and at stage changes). When the job was cancelled this call aborts
   * `signal` and throws its reason: let it propagate (clean up in `finally`) so the job stops at this step.
   */
  onProgress(progress: JobProgress): void;
  /**
   * Seconds per stage, filled in as stages end (the stage a failure or cancel interrupts included), so that a
   * job that stops still tells where its time went; the worker sends it with the job's error.
   */
  readonly timings?: Record<string, number>;
}

export interface JobRunner {
  /** Run one job; frames in the result are transferred to main (don't keep or reuse their buffers). */
  run(spec: JobSpec, input: ConditioningInput, hooks: RunHooks): Promise<PipelineResult>;
  /** Load what is needed and run a small job end to end; the worker reports ready after this resolves. */
  warmup(): Promise<void>;
  /** Release sessions and memory; called once at worker shutdown. */
  close(): Promise<void>;
}

export interface CreateRunnerOptions {
  readonly modelDir: string;
  /** 'cpu' or 'cuda:<n>'. */
  readonly device: string;
  /** Runner-specific settings from the pool (workerData.runnerOptions); real runners may ignore them. */
  readonly options?: Readonly<Record<string, unknown>>;
}

export type CreateRunner = (opts: CreateRunnerOptions) => Promise<JobRunner>;
