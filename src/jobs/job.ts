import { randomUUID } from 'node:crypto';
import { silentLogger, type JobProgress, type JobSpec, type Logger } from '../shared/index.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Why a job was stopped before it finished. */
export type StopReason = 'cancelled' | 'timeout' | 'disconnect' | 'shutdown';

/** What a finished job produced: the encoded media and, for inverse_dynamics/policy, the actions. */
export interface JobOutput {
  /** The spec as run (action modes: width/height set to the canvas). */
  readonly spec: JobSpec;
  readonly format: 'jpg' | 'mp4';
  readonly data: Buffer;
  /** [chunk][rawDim] */
  readonly actions?: number[][];
  /** Seconds per stage (main side: fetch/decode, run, encode; the worker's own stages). */
  readonly timings: Readonly<Record<string, number>>;
}

export type JobEvent =
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'state'; readonly state: JobState }
  /** A queued job moved up: a job ahead of it started or left the queue. */
  | { readonly type: 'queue' };

export function isTerminal(state: JobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** One request's life: created queued, run once, finished once. Owned by the queue; read by the routes. */
export class Job {
  readonly id: string;
  readonly spec: JobSpec;
  readonly createdAt: number;
  /** Async jobs (POST /v1/jobs) keep their result in the store; /predict jobs are dropped when done. */
  readonly retain: boolean;
  readonly log: Logger;
  readonly controller = new AbortController();
  state: JobState = 'queued';
  startedAt?: number;
  finishedAt?: number;
  progress?: JobProgress;
  output?: JobOutput;
  error?: Error;
  /** Seconds per stage so far (run-job fills it as it goes, so a job that stopped early still shows where its time went). */
  stageTimings?: Readonly<Record<string, number>>;
  stopReason?: StopReason;
  readonly #listeners = new Set<(event: JobEvent) => void>();
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(spec: JobSpec, options: { retain: boolean; log?: Logger; now: number; id?: string }) {
    this.id = options.id ?? randomUUID();
    this.spec = spec;
    this.retain = options.retain;
    this.createdAt = options.now;
    this.log = (options.log ?? silentLogger).child({ jobId: this.id });
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** Resolves when the job reaches a terminal state (never rejects: read `state`, `output`, `error`). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The response name: "<mode>-seed<seed>-<first 8 of the id>". */
  get name(): string {
    return `${this.spec.mode}-seed${this.spec.seed}-${this.id.slice(0, 8)}`;
  }

  /** Bytes held by the result (what the store counts). */
  get resultBytes(): number {
    return this.output?.data.length ?? 0;
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  setProgress(progress: JobProgress): void {
    this.progress = progress;
    this.#emit({ type: 'progress', progress });
  }

  setState(state: JobState, now: number): void {
    if (isTerminal(this.state)) return;
    this.state = state;
    if (state === 'running') this.startedAt = now;
    if (isTerminal(state)) this.finishedAt = now;
    this.#emit({ type: 'state', state });
    if (isTerminal(state)) {
      this.#listeners.clear();
      this.#resolveDone();
    }
  }

  /** Tell listeners that this queued job's position changed. */
  movedUp(): void {
    if (this.state === 'queued') this.#emit({ type: 'queue' });
  }

  #emit(event: JobEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.log.warn({ err }, 'job listener failed');
      }
    }
  }
}
