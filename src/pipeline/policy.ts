import type { PipelineResult } from '../shared/index.js';
import { setupAction } from './action-conditioning.js';
import { noisyFrames } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';

/**
 * policy: latent frame 0 (the first frame on its canvas) is clean; the future video and the actions are
 * generated. The actions are returned; the response carries the input clip, so the generated video is not
 * decoded.
 */
export async function policy(ctx: PipelineContext): Promise<PipelineResult> {
  const setup = setupAction(ctx);
  return generate(ctx, {
    prompt: setup.prompt,
    latentShape: setup.latentShape,
    visionNoisy: noisyFrames(setup.latentShape[2], 1),
    encodeConditioning: (signal) => setup.encode(1, signal),
    actions: setup.actions(true, true),
    echoFrames: setup.clip,
  });
}
