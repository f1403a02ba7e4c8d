import type { PipelineResult } from '../shared/index.js';
import { setupAction } from './action-conditioning.js';
import { noisyFrames } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';

/**
 * inverse_dynamics: every latent frame is clean (the whole clip on its canvas); the actions connecting the
 * frames are generated and returned with the input clip.
 */
export async function inverseDynamics(ctx: PipelineContext): Promise<PipelineResult> {
  const setup = setupAction(ctx);
  const latentFrames = setup.latentShape[2];
  const pixelFrames = (latentFrames - 1) * ctx.facts.vaeTemporalFactor + 1;
  return generate(ctx, {
    prompt: setup.prompt,
    latentShape: setup.latentShape,
    visionNoisy: noisyFrames(latentFrames, latentFrames),
    encodeConditioning: (signal) => setup.encode(pixelFrames, signal),
    actions: setup.actions(true, true),
    echoFrames: setup.clip,
  });
}
