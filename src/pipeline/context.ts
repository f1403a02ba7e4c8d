import type { ConditioningInput, JobProgress, JobSpec } from '../shared/index.js';
import type { ModelFacts } from './model-facts.js';
import type { Networks } from './networks.js';
import type { PromptEncoder } from './text/index.js';

/** What one pipeline run gets: the request, its decoded media, the networks, the text encoder, model facts, hooks. */

/** The decoded media a run gets (action modes: with the canvas the main side computed). */
export type PipelineInput = ConditioningInput;

export interface PipelineHooks {
  readonly signal?: AbortSignal;
  /** Stage changes and, while sampling, every step done. */
  readonly onProgress?: (progress: JobProgress) => void;
  /** Clock in milliseconds for stage timings (default: performance.now). */
  readonly now?: () => number;
  /** Where stage seconds are written as each stage ends, also one cut short (default: a fresh object); the result's `timings`. */
  readonly timings?: Record<string, number>;
}

export interface PipelineContext {
  readonly spec: Readonly<JobSpec>;
  readonly input: PipelineInput;
  readonly networks: Networks;
  readonly text: PromptEncoder;
  readonly facts: ModelFacts;
  readonly hooks: PipelineHooks;
}
