import type { PipelineResult } from '../shared/index.js';
import { setupAction } from './action-conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';

/**
 * policy: latent frame 0 (the first frame on its canvas) is clean; the future video and the actions are
 * generated. The actions are returned; the response carries the input clip, so the generated video is not
 * decoded.
 */
export async function policy(ctx: PipelineContext): Promise<PipelineResult> {
  const setup = setupAction(ctx);
  const visionNoisy = new Float32Array(setup.latentShape[2]).fill(1);
  visionNoisy[0] = 0;
  return generate(ctx, {
    prompt: setup.prompt,
    latentShape: setup.latentShape,
    visionNoisy,
    encodeConditioning: () => setup.encode(1),
    actions: setup.actions(true, true),
    echoFrames: setup.clip,
  });
}
