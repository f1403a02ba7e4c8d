/** Transformer patch grid of a latent [1, C, T, H, W]: T × ceil(H/p) × ceil(W/p) tokens (odd H/W zero-padded). */
export interface PatchGrid {
  readonly frames: number;
  readonly rows: number;
  readonly cols: number;
}

export function patchGrid(latentShape: readonly number[], patchSize: number): PatchGrid {
  if (latentShape.length !== 5) throw new RangeError(`patchGrid: expected [1, C, T, H, W], got [${latentShape.join(', ')}]`);
  const [, , frames, height, width] = latentShape;
  return { frames, rows: Math.ceil(height / patchSize), cols: Math.ceil(width / patchSize) };
}

/** Latent frames of a 4k+1 pixel clip. */
export function latentFrameCount(pixelFrames: number, temporalFactor: number): number {
  if ((pixelFrames - 1) % temporalFactor !== 0) {
    throw new RangeError(`latentFrameCount: ${pixelFrames} pixel frames is not ${temporalFactor}k+1`);
  }
  return (pixelFrames - 1) / temporalFactor + 1;
}
