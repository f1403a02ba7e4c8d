import type { PipelineResult } from '../shared/index.js';
import { noisyFrames, visionPrompt } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';
import { visionLatentShape } from './shapes.js';

/** text2video: every latent frame generated (no VAE encode: nothing is conditioned). */
export async function text2video(ctx: PipelineContext): Promise<PipelineResult> {
  const { spec, facts } = ctx;
  const latentShape = visionLatentShape(facts, spec.numFrames, spec.height, spec.width);
  return generate(ctx, {
    prompt: visionPrompt(spec, spec.numFrames),
    latentShape,
    visionNoisy: noisyFrames(latentShape[2], 0),
  });
}
