import { assert, type PipelineResult } from '../shared/index.js';
import { encodeFrames, noisyFrames, visionPrompt } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { generate } from './generate.js';
import { leadingFrames } from './latents/index.js';
import { visionLatentShape } from './shapes.js';

/**
 * image2video: the image (already cover-resized and centre-cropped to the output size) conditions latent
 * frame 0. The reference encodes the image repeated over all frames; the VAE is causal in time, so latent
 * frame 0 depends on pixel frame 0 only and encoding that one frame gives the same clean latent.
 */
export async function image2video(ctx: PipelineContext): Promise<PipelineResult> {
  const { spec, facts, input, networks } = ctx;
  const image = input.frames;
  assert(image !== undefined && image.frames >= 1, 'image2video input frames');
  assert(image.height === spec.height && image.width === spec.width, `image ${image.width}x${image.height} = output ${spec.width}x${spec.height}`);
  const latentShape = visionLatentShape(facts, spec.numFrames, spec.height, spec.width);
  return generate(ctx, {
    prompt: visionPrompt(spec, spec.numFrames),
    latentShape,
    visionNoisy: noisyFrames(latentShape[2], 1),
    encodeConditioning: (signal) => encodeFrames(networks.vae, leadingFrames(image, 1), signal),
  });
}
