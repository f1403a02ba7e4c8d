import type { ActionCanvas } from '../shared/index.js';
import { ASPECT_RATIOS, PIXEL_SIZES } from './modes.js';

export type { ActionCanvas };

/**
 * Action-mode canvas geometry (reference: diffusers Cosmos3 omni pipeline, action video conditioning).
 * The input clip is first cut down to multiples of the VAE spatial factor (the reference's image processor
 * resizes W, H to W − W mod 16, H − H mod 16), then the canvas is the tier's bin whose H/W ratio is nearest
 * the clip's (first bin wins a tie, bins in the order 1:1, 4:3, 3:4, 16:9, 9:16), the clip is scaled to fit
 * inside the canvas without ever upscaling (size = int(scale · side + 0.5), at least 1), placed top-left and
 * padded right/bottom; the encoded latent is cropped to content // 16 (at least 1) before denoising.
 */

/** Resolution tiers the reference accepts for action conditioning (`resolution_tier`). */
export const ACTION_TIERS = [256, 480, 704, 720] as const;
export type ActionTier = (typeof ACTION_TIERS)[number];

export interface CanvasBin {
  readonly height: number;
  readonly width: number;
}

function binsFromPixelSizes(tier: '256' | '480' | '720'): readonly CanvasBin[] {
  return ASPECT_RATIOS.map((aspect) => {
    const [width, height] = PIXEL_SIZES[tier][aspect];
    return { height, width };
  });
}

/** Canvas bins per tier, in the reference's tie-break order. Tier 704 exists only for action conditioning. */
export const ACTION_CANVAS_BINS: Readonly<Record<ActionTier, readonly CanvasBin[]>> = {
  256: binsFromPixelSizes('256'),
  480: binsFromPixelSizes('480'),
  704: [
    { height: 960, width: 960 },
    { height: 832, width: 1088 },
    { height: 1088, width: 832 },
    { height: 704, width: 1280 },
    { height: 1280, width: 704 },
  ],
  720: binsFromPixelSizes('720'),
};

export function isActionTier(tier: number): tier is ActionTier {
  return (ACTION_TIERS as readonly number[]).includes(tier);
}

/** The canvas bin nearest in H/W ratio (first bin wins a tie). */
export function nearestCanvasBin(height: number, width: number, tier: ActionTier): CanvasBin {
  const ratio = height / width;
  let best = ACTION_CANVAS_BINS[tier][0];
  let bestDistance = Infinity;
  for (const bin of ACTION_CANVAS_BINS[tier]) {
    const distance = Math.abs(bin.height / bin.width - ratio);
    if (distance < bestDistance) {
      best = bin;
      bestDistance = distance;
    }
  }
  return best;
}

/** Canvas geometry for an input of `height` × `width` pixels at an action tier. */
export function actionCanvas(height: number, width: number, tier: ActionTier, spatialFactor: number): ActionCanvas {
  const sourceHeight = height - (height % spatialFactor);
  const sourceWidth = width - (width % spatialFactor);
  if (sourceHeight < spatialFactor || sourceWidth < spatialFactor) {
    throw new RangeError(`actionCanvas: input ${width}x${height} is smaller than ${spatialFactor} pixels on a side`);
  }
  const bin = nearestCanvasBin(sourceHeight, sourceWidth, tier);
  const scale = Math.min(bin.width / sourceWidth, bin.height / sourceHeight, 1);
  const contentHeight = Math.max(1, Math.trunc(scale * sourceHeight + 0.5));
  const contentWidth = Math.max(1, Math.trunc(scale * sourceWidth + 0.5));
  const padRight = bin.width - contentWidth;
  const padBottom = bin.height - contentHeight;
  return {
    sourceHeight,
    sourceWidth,
    canvasHeight: bin.height,
    canvasWidth: bin.width,
    contentHeight,
    contentWidth,
    padRight,
    padBottom,
    padMode: padRight >= contentWidth || padBottom >= contentHeight ? 'replicate' : 'reflect',
    latentHeight: Math.max(1, Math.floor(contentHeight / spatialFactor)),
    latentWidth: Math.max(1, Math.floor(contentWidth / spatialFactor)),
  };
}
