import { assert } from '../shared/index.js';
import { latentFrameCount } from './latents/index.js';
import type { ModelFacts } from './model-facts.js';

/** [1, C, T, H/16, W/16] for a 4k+1 pixel clip of H × W pixels. */
export function visionLatentShape(facts: ModelFacts, pixelFrames: number, height: number, width: number): number[] {
  const sf = facts.vaeSpatialFactor;
  assert(height % sf === 0 && width % sf === 0, `pixel size ${width}x${height} is a multiple of ${sf}`);
  return [1, facts.latentChannels, latentFrameCount(pixelFrames, facts.vaeTemporalFactor), height / sf, width / sf];
}
