import { assert, type PipelineResult } from '../shared/index.js';
import { setupAction } from './action-conditioning.js';
import { noisyFrames, padActions } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';

/**
 * forward_dynamics: latent frame 0 and every action step are clean (the given actions, last row repeated
 * up to the chunk, columns zero-padded to the model's action width); the video is generated and returned.
 */
export async function forwardDynamics(ctx: PipelineContext): Promise<PipelineResult> {
  const setup = setupAction(ctx);
  const rows = ctx.input.actions;
  assert(rows !== undefined && rows.length > 0, 'forward_dynamics input actions');
  const clean = padActions(rows, setup.action.chunkSize, ctx.facts.actionDim);
  return generate(ctx, {
    prompt: setup.prompt,
    latentShape: setup.latentShape,
    visionNoisy: noisyFrames(setup.latentShape[2], 1),
    encodeConditioning: (signal) => setup.encode(1, signal),
    actions: setup.actions(false, false, clean),
  });
}
