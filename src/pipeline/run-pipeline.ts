import type { ModelMode, PipelineResult } from '../shared/index.js';
import type { JobSpec } from '../shared/index.js';
import type { PipelineContext, PipelineHooks, PipelineInput } from './context.js';
import { forwardDynamics } from './forward-dynamics.js';
import { image2video } from './image2video.js';
import { inverseDynamics } from './inverse-dynamics.js';
import type { ModelFacts } from './model-facts.js';
import type { Networks } from './networks.js';
import { policy } from './policy.js';
import type { PromptEncoder } from './text/index.js';
import { text2image } from './text2image.js';
import { text2video } from './text2video.js';

/** The one entry the engine calls: pick the mode's pipeline and run it. */

export type ModePipeline = (ctx: PipelineContext) => Promise<PipelineResult>;

export const MODE_PIPELINES: Readonly<Record<ModelMode, ModePipeline>> = {
  text2image,
  text2video,
  image2video,
  forward_dynamics: forwardDynamics,
  inverse_dynamics: inverseDynamics,
  policy,
};

export interface Pipelines {
  readonly facts: ModelFacts;
  runPipeline(
    spec: Readonly<JobSpec>,
    input: PipelineInput,
    networks: Networks,
    text: PromptEncoder,
    hooks?: PipelineHooks,
  ): Promise<PipelineResult>;
}

export function createPipelines(facts: ModelFacts): Pipelines {
  const frozen = Object.freeze({ ...facts });
  return {
    facts: frozen,
    runPipeline(spec, input, networks, text, hooks = {}) {
      return MODE_PIPELINES[spec.mode]({ spec, input, networks, text, facts: frozen, hooks });
    },
  };
}
