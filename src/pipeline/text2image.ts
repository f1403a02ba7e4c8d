import type { PipelineResult } from '../shared/index.js';
import { noisyFrames, visionPrompt } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';
import { visionLatentShape } from './shapes.js';

/** text2image: one latent frame, all noisy; the prompt gets the image system prompt and resolution sentence. */
export async function text2image(ctx: PipelineContext): Promise<PipelineResult> {
  const { spec, facts } = ctx;
  const pixelFrames = 1;
  const latentShape = visionLatentShape(facts, pixelFrames, spec.height, spec.width);
  return generate(ctx, {
    prompt: visionPrompt(spec, pixelFrames),
    latentShape,
    visionNoisy: noisyFrames(latentShape[2], 0),
  });
}
