import type { ModelMode } from './modes.js';

/**
 * A request after validation and defaulting (api/to-job.ts): every field resolved, nothing optional
 * that the pipeline needs. Inner layers receive it readonly and only assert invariants.
 */
export interface JobSpec {
  readonly mode: ModelMode;
  readonly prompt: string;
  /** As given, or the mode default ('' for now, see docs/decisions). */
  readonly negativePrompt: string;
  /** Resolution tier and aspect as requested (vision modes). */
  readonly resolution: '256' | '480' | '720' | '768';
  readonly aspectRatio: '1,1' | '4,3' | '3,4' | '16,9' | '9,16';
  /** Output pixel size for text2image/text2video/image2video; action modes derive theirs from the input. */
  readonly width: number;
  readonly height: number;
  /** Pixel frames, already rounded up to 4k+1 (1 for text2image). */
  readonly numFrames: number;
  readonly fps: number;
  readonly seed: number;
  readonly numSteps: number;
  readonly guidance: number;
  readonly shift: number;
  readonly visionPath?: string;
  readonly actionPath?: string;
  /** Action modes only. */
  readonly action?: ActionSpec;
}

export interface ActionSpec {
  readonly imageSize: number;
  /** Action steps; pixel frames = chunk + 1. */
  readonly chunkSize: number;
  readonly domainName: string;
  readonly domainId: number;
  /** Width of the action rows returned (the domain's raw width). */
  readonly rawDim: number;
}

/** RGB uint8 frames, row-major [F, H, W, 3]. */
export interface RgbFrames {
  readonly data: Uint8Array;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

/** Decoded media handed to the worker (main side fetched and decoded it). */
export interface ConditioningInput {
  /** image2video: the image cover-resized and centre-cropped to the output size (1 frame).
   *  Action modes: chunk+1 frames scaled to fit the canvas (never up), before padding. */
  readonly frames?: RgbFrames;
  /** Action rows [T][D] from action_path. */
  readonly actions?: readonly (readonly number[])[];
  /**
   * Action modes: the canvas the main side computed from the source size when it scaled the frames
   * (config/canvas.ts). The pipeline must use it: the frames' own size is the scaled content, which need not
   * be a multiple of the spatial factor, so a canvas derived from it again would cut it further.
   */
  readonly canvas?: ActionCanvas;
}

/** Action-mode canvas geometry (computed by config/canvas.ts `actionCanvas`). */
export interface ActionCanvas {
  /** Input size after the cut to multiples of the spatial factor (resize the input to this first). */
  readonly sourceHeight: number;
  readonly sourceWidth: number;
  /** The padded canvas the VAE encodes. */
  readonly canvasHeight: number;
  readonly canvasWidth: number;
  /** The input scaled to fit the canvas (never up); the frames the main side hands to the pipeline. */
  readonly contentHeight: number;
  readonly contentWidth: number;
  readonly padRight: number;
  readonly padBottom: number;
  /** 'replicate' if a pad is at least the content size on its axis, else 'reflect'. */
  readonly padMode: 'replicate' | 'reflect';
  /** Latent rows/columns kept after encoding the canvas (content // spatialFactor, at least 1). */
  readonly latentHeight: number;
  readonly latentWidth: number;
}

/** What a pipeline returns. */
export interface PipelineResult {
  /** Generated frames (vision modes) or the conditioning frames to echo (inverse_dynamics, policy). */
  readonly frames: RgbFrames;
  /** Action modes that generate actions: [chunk][rawDim]. */
  readonly actions?: number[][];
  /** Seconds spent per stage (tokenize, noise, vae_encode, sampling, vae_decode). */
  readonly timings: Record<string, number>;
}

/** Progress reported by a running job. */
export interface JobProgress {
  readonly stage: 'queued' | 'preparing' | 'tokenize' | 'vae_encode' | 'sampling' | 'vae_decode' | 'encode' | 'done';
  readonly step: number;
  readonly totalSteps: number;
}
