import type { ModelMode } from '../shared/index.js';

/** Request tables from SPEC §2 and §4, as data. */

export const RESOLUTIONS = ['256', '480', '720', '768'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const ASPECT_RATIOS = ['1,1', '4,3', '3,4', '16,9', '9,16'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

/** Pixel size [width, height] by resolution tier and aspect ratio. */
export const PIXEL_SIZES: Readonly<Record<Resolution, Readonly<Record<AspectRatio, readonly [number, number]>>>> = {
  '256': { '1,1': [256, 256], '4,3': [320, 256], '3,4': [256, 320], '16,9': [320, 192], '9,16': [192, 320] },
  '480': { '1,1': [640, 640], '4,3': [736, 544], '3,4': [544, 736], '16,9': [832, 480], '9,16': [480, 832] },
  '720': { '1,1': [960, 960], '4,3': [1104, 832], '3,4': [832, 1104], '16,9': [1280, 720], '9,16': [720, 1280] },
  '768': { '1,1': [1024, 1024], '4,3': [1184, 880], '3,4': [880, 1184], '16,9': [1360, 768], '9,16': [768, 1360] },
};

/** Largest pixel frame count per tier for the video modes. */
export const MAX_FRAMES: Readonly<Record<Resolution, number>> = { '256': 400, '480': 300, '720': 200, '768': 200 };
export const MIN_VIDEO_FRAMES = 5;

export interface ModeDefaults {
  readonly numFrames: number;
  readonly numSteps: number;
  readonly guidance: number;
  readonly shift: number;
  readonly aspectRatio: AspectRatio;
  readonly resolution: Resolution;
  readonly fps: number;
}

const VIDEO: ModeDefaults = { numFrames: 189, numSteps: 35, guidance: 6.0, shift: 10.0, aspectRatio: '16,9', resolution: '720', fps: 24 };
const ACTION: ModeDefaults = { numFrames: 17, numSteps: 30, guidance: 1.0, shift: 10.0, aspectRatio: '16,9', resolution: '256', fps: 24 };

export const MODE_DEFAULTS: Readonly<Record<ModelMode, ModeDefaults>> = {
  text2image: { numFrames: 1, numSteps: 50, guidance: 4.0, shift: 3.0, aspectRatio: '1,1', resolution: '720', fps: 24 },
  text2video: VIDEO,
  image2video: VIDEO,
  forward_dynamics: ACTION,
  inverse_dynamics: ACTION,
  policy: ACTION,
};

export const DEFAULT_IMAGE_SIZE = 256;
export const DEFAULT_ACTION_CHUNK = 16;
export const STEPS_RANGE = [1, 100] as const;
export const GUIDANCE_RANGE = [0, 7] as const;
export const SEED_MAX = 2 ** 31 - 1;

/** Embodiment domains: raw action width and domain id (SPEC §4). */
export const DOMAINS: Readonly<Record<string, { readonly rawDim: number; readonly id: number }>> = {
  av: { rawDim: 9, id: 1 },
  camera_pose: { rawDim: 9, id: 2 },
  pusht: { rawDim: 2, id: 4 },
  umi: { rawDim: 10, id: 6 },
  bridge_orig_lerobot: { rawDim: 10, id: 7 },
  droid_lerobot: { rawDim: 10, id: 8 },
  'robomind-franka': { rawDim: 10, id: 8 },
  fractal: { rawDim: 10, id: 20 },
  'robomind-franka-dual': { rawDim: 20, id: 12 },
  'robomind-ur': { rawDim: 10, id: 13 },
  agibotworld: { rawDim: 29, id: 15 },
  embodiment_b: { rawDim: 30, id: 9 },
  xdof_yam: { rawDim: 20, id: 16 },
  robotwin: { rawDim: 14, id: 17 },
  behavior1k_lerobot: { rawDim: 23, id: 22 },
  maniparena: { rawDim: 20, id: 23 },
  drawanything: { rawDim: 3, id: 21 },
};

/** Round a frame count up to the next 4k+1. */
export function roundFrames(n: number): number {
  if (n <= 1) return 1;
  return Math.ceil((n - 1) / 4) * 4 + 1;
}
