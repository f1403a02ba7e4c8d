import type { ActionCanvas } from '../config/index.js';
import type { ConditioningInput, JobProgress, JobSpec } from '../shared/index.js';
import type { ModelFacts } from './model-facts.js';
import type { Networks } from './networks.js';
import type { PromptEncoder } from './text/index.js';

/** What one pipeline run gets: the request, its decoded media, the networks, the text encoder, model facts, hooks. */

export interface PipelineInput extends ConditioningInput {
  /**
   * Action modes: the canvas geometry the main side computed from the source size (config/canvas.ts) when it
   * scaled the frames. Without it the pipeline derives it from the frame size, which is the same unless the
   * source H/W ratio sits within rounding of a midpoint between two canvas bins.
   */
  readonly canvas?: ActionCanvas;
}

export interface PipelineHooks {
  readonly signal?: AbortSignal;
  /** Stage changes and, while sampling, every step done. */
  readonly onProgress?: (progress: JobProgress) => void;
  /** Clock in milliseconds for stage timings (default: performance.now). */
  readonly now?: () => number;
}

export interface PipelineContext {
  readonly spec: Readonly<JobSpec>;
  readonly input: PipelineInput;
  readonly networks: Networks;
  readonly text: PromptEncoder;
  readonly facts: ModelFacts;
  readonly hooks: PipelineHooks;
}
