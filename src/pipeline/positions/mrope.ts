/**
 * 3D mRoPE positions of the joint sequence text ; vision ; sound ; actions (fixtures README, "Vision" /
 * positions), as float32 with every operation rounded to float32 in the reference's order.
 */

export interface MropeConfig {
  /** `base_fps` of the transformer config (24). */
  readonly baseFps: number;
  /** `unified_3d_mrope_temporal_modality_margin` (15000). */
  readonly margin: number;
  /** VAE temporal compression (4). */
  readonly temporalFactor: number;
  /** `sound_latent_fps` (25). */
  readonly soundLatentFps: number;
}

export interface MropeSequence {
  /** L text tokens. */
  readonly textLength: number;
  /** Patch grid of the vision latent: latent frames, ceil(H/2) rows, ceil(W/2) columns. */
  readonly vision?: { readonly frames: number; readonly rows: number; readonly cols: number };
  /** Video frame rate (drives the temporal positions of vision and actions). */
  readonly fps: number;
  readonly soundTokens?: number;
  readonly actionSteps?: number;
}

const f32 = Math.fround;

/** Number of rows N of the joint sequence. */
export function sequenceLength(seq: MropeSequence): number {
  const v = seq.vision ? seq.vision.frames * seq.vision.rows * seq.vision.cols : 0;
  return seq.textLength + v + (seq.soundTokens ?? 0) + (seq.actionSteps ?? 0);
}

/** The first n columns of positions [3, N] (the text rows' positions when n is the text length), as [3, n]. */
export function leadingColumns(positions: Float32Array, n: number): Float32Array {
  const N = positions.length / 3;
  const out = new Float32Array(3 * n);
  for (let r = 0; r < 3; r++) out.set(positions.subarray(r * N, r * N + n), r * n);
  return out;
}

/** Positions [3, N] (rows: temporal, height, width), row-major. */
export function mropePositions(config: MropeConfig, seq: MropeSequence): Float32Array {
  const n = sequenceLength(seq);
  const out = new Float32Array(3 * n); // [3, N]
  const put = (row: number, t: number, h: number, w: number): void => {
    out[row] = t;
    out[n + row] = h;
    out[2 * n + row] = w;
  };
  const textLength = seq.textLength;
  for (let i = 0; i < textLength; i++) put(i, i, i, i);
  const offset = f32(textLength + config.margin);
  const base = f32(config.baseFps);
  let row = textLength;

  if (seq.vision) {
    const { frames, rows, cols } = seq.vision;
    const ticksPerFrame = f32(f32(seq.fps) / f32(config.temporalFactor));
    const baseTicks = f32(base / f32(config.temporalFactor));
    for (let t = 0; t < frames; t++) {
      const tp = frames === 1 ? offset : f32(f32(f32(t / ticksPerFrame) * baseTicks) + offset);
      for (let py = 0; py < rows; py++) {
        for (let px = 0; px < cols; px++) put(row++, tp, py, px);
      }
    }
  }

  const sound = seq.soundTokens ?? 0;
  const soundFps = f32(config.soundLatentFps);
  for (let i = 0; i < sound; i++) {
    const tp = sound === 1 ? offset : f32(f32(f32(i / soundFps) * base) + offset);
    put(row++, tp, 0, 0);
  }

  const actions = seq.actionSteps ?? 0;
  const actionTicks = f32(base / f32(config.temporalFactor));
  const fps = f32(seq.fps);
  for (let i = 0; i < actions; i++) {
    const tp = actions === 1 ? offset + 1 : f32(f32(f32((i + 1) / fps) * actionTicks) + offset);
    put(row++, tp, 0, 0);
  }
  return out;
}
