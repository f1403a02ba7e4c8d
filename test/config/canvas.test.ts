import { describe, expect, it } from 'vitest';
import { actionCanvas, ACTION_CANVAS_BINS, isActionTier, nearestCanvasBin } from '../../src/config/index.js';
import { loadCase } from '../support/pipeline-fixtures.js';

describe('actionCanvas', () => {
  it('e2e_action_policy: 96x128 at tier 256 → canvas 256x320, content 96x128, latent crop 6x8', () => {
    const c = loadCase('e2e_action_policy');
    const [h, w] = c.shape('image_uint8');
    const call = c.scalars.pipeline_call as { action: { resolution_tier: number } };
    const tier = call.action.resolution_tier;
    expect(isActionTier(tier)).toBe(true);
    const canvas = actionCanvas(h, w, tier as 256, 16);
    const [, , , canvasH, canvasW] = c.shape('vae_encode_in_frame0');
    expect([canvas.canvasHeight, canvas.canvasWidth]).toEqual([canvasH, canvasW]);
    expect([canvas.contentHeight, canvas.contentWidth]).toEqual([96, 128]);
    expect([canvas.padBottom, canvas.padRight]).toEqual([160, 192]);
    expect(canvas.padMode).toBe('replicate');
    const [, , , latentH, latentW] = c.shape('initial_latents');
    expect([canvas.latentHeight, canvas.latentWidth]).toEqual([latentH, latentW]);
  });

  it('never upscales, downscales to fit with the reference rounding, reflects small pads', () => {
    const big = actionCanvas(1080, 1920, 480, 16); // 1072x1920 after the cut → 16:9 bin 480x832
    expect([big.sourceHeight, big.sourceWidth]).toEqual([1072, 1920]);
    expect([big.canvasHeight, big.canvasWidth]).toEqual([480, 832]);
    expect([big.contentHeight, big.contentWidth]).toEqual([Math.trunc((832 / 1920) * 1072 + 0.5), 832]);
    expect(big.padRight).toBe(0);
    expect(big.padMode).toBe('reflect');
    expect(big.latentHeight).toBe(Math.floor(big.contentHeight / 16));
  });

  it('picks the first bin on a tie and the nearest ratio otherwise', () => {
    // 1:1 and 4:3 bins of tier 256 are 0.2 apart in H/W; a ratio of exactly 0.9 ties
    expect(nearestCanvasBin(90, 100, 256)).toEqual({ height: 256, width: 256 });
    expect(nearestCanvasBin(100, 160, 256)).toEqual({ height: 192, width: 320 });
    expect(nearestCanvasBin(320, 256, 256)).toEqual({ height: 320, width: 256 });
  });

  it('has five bins per tier and rejects inputs below the spatial factor', () => {
    for (const bins of Object.values(ACTION_CANVAS_BINS)) expect(bins).toHaveLength(5);
    expect(() => actionCanvas(15, 100, 256, 16)).toThrow(RangeError);
    expect(isActionTier(768)).toBe(false);
  });
});
