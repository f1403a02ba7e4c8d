import { randomInt } from 'node:crypto';
import { ACTION_CANVAS_BINS, DEFAULT_ACTION_CHUNK, DEFAULT_IMAGE_SIZE, DOMAINS, MODE_DEFAULTS, PIXEL_SIZES, SEED_MAX, isActionTier, roundFrames } from '../config/index.js';
import { assert, type JobSpec } from '../shared/index.js';
import type { PredictBody } from './schemas/request.js';

/** A fresh random seed in 0..2^31-1. */
export function drawSeed(): number {
  return randomInt(0, SEED_MAX + 1);
}

/**
 * A validated body → the JobSpec the pipelines run: mode defaults filled in, num_frames rounded up to 4k+1,
 * the pixel size looked up, the domain resolved, a seed drawn when absent. Pure apart from `seed()`.
 * Action modes: width/height are the tier's 16:9 bin until run-job replaces them by the input's canvas;
 * numFrames is chunk + 1.
 */
export function toJobSpec(body: PredictBody, seed: () => number = drawSeed): JobSpec {
  const mode = body.model_mode;
  const d = MODE_DEFAULTS[mode];
  const shared = {
    mode,
    prompt: body.prompt,
    negativePrompt: body.negative_prompt ?? '',
    fps: body.fps ?? d.fps,
    seed: body.seed ?? seed(),
    numSteps: body.num_steps ?? d.numSteps,
    guidance: body.guidance ?? d.guidance,
    shift: body.shift ?? d.shift,
  };
  switch (body.model_mode) {
    case 'text2image':
    case 'text2video':
    case 'image2video': {
      const resolution = body.resolution ?? d.resolution;
      const aspectRatio = body.aspect_ratio ?? d.aspectRatio;
      const [width, height] = PIXEL_SIZES[resolution][aspectRatio];
      const numFrames = body.model_mode === 'text2image' ? 1 : roundFrames(body.num_frames ?? d.numFrames);
      return {
        ...shared,
        resolution,
        aspectRatio,
        width,
        height,
        numFrames,
        ...(body.model_mode === 'image2video' ? { visionPath: body.vision_path } : {}),
      };
    }
    case 'forward_dynamics':
    case 'inverse_dynamics':
    case 'policy': {
      const imageSize = body.image_size ?? DEFAULT_IMAGE_SIZE;
      assert(isActionTier(imageSize), `image_size ${imageSize} is an action tier`);
      const domain = DOMAINS[body.domain_name];
      assert(domain !== undefined, `domain ${body.domain_name} is known`);
      const chunkSize = body.action_chunk_size ?? DEFAULT_ACTION_CHUNK;
      const placeholder = ACTION_CANVAS_BINS[imageSize][3];
      return {
        ...shared,
        resolution: d.resolution,
        aspectRatio: d.aspectRatio,
        width: placeholder.width,
        height: placeholder.height,
        numFrames: chunkSize + 1,
        visionPath: body.vision_path,
        ...(body.model_mode === 'forward_dynamics' ? { actionPath: body.action_path } : {}),
        action: { imageSize, chunkSize, domainName: body.domain_name, domainId: domain.id, rawDim: domain.rawDim },
      };
    }
  }
}
