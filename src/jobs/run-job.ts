import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { actionCanvas, isActionTier, type ActionCanvas, type ActionTier } from '../config/index.js';
import * as media from '../media/index.js';
import {
  InputUnreadableError,
  assert,
  withField,
  workerTimingsOf,
  type ConditioningInput,
  type JobSpec,
  type RgbFrames,
} from '../shared/index.js';
import type { JobOutput } from './job.js';
import type { JobExecutor } from './pool.js';
import type { ExecuteJob } from './queue.js';

/** The media functions run-job uses (injected so tests can replace them). */
export interface MediaDeps {
  readonly fetchInput: typeof media.fetchInput;
  readonly decodeImage: typeof media.decodeImage;
  readonly coverResize: typeof media.coverResize;
  readonly loadVision: typeof media.loadVision;
  readonly fitWithin: typeof media.fitWithin;
  readonly parseActions: typeof media.parseActions;
  readonly encodeJpeg: typeof media.encodeJpeg;
  readonly encodeMp4: typeof media.encodeMp4;
  /** Read a fetched input file (action JSON). */
  readonly readFile: (path: string) => Promise<Uint8Array>;
}

export const DEFAULT_MEDIA: MediaDeps = Object.freeze({
  fetchInput: media.fetchInput,
  decodeImage: media.decodeImage,
  coverResize: media.coverResize,
  loadVision: media.loadVision,
  fitWithin: media.fitWithin,
  parseActions: media.parseActions,
  encodeJpeg: media.encodeJpeg,
  encodeMp4: media.encodeMp4,
  readFile: (path: string) => readFile(path),
});

/** VAE spatial factor of Cosmos3 (Wan2.2: 16× in space): action canvases cut inputs to multiples of it. */
export const DEFAULT_SPATIAL_FACTOR = 16;
export const JPEG_QUALITY = 95;

export type CanvasFn = (height: number, width: number, tier: ActionTier) => ActionCanvas;

export interface RunJobDeps {
  readonly pool: JobExecutor;
  readonly inputRoots: readonly string[];
  readonly maxInputBytes: number;
  readonly inputTimeoutMs: number;
  /** ALLOW_PRIVATE_URLS: downloads may reach non-public addresses (default: refused). */
  readonly allowPrivateUrls?: boolean;
  readonly media?: MediaDeps;
  /** Action-mode canvas geometry (default: config/canvas.ts actionCanvas with the 16× spatial factor). */
  readonly canvas?: CanvasFn;
  /** Parent of downloads' temp dirs (default: OS temp dir). */
  readonly tmpRoot?: string;
}

/**
 * Media in → worker → media out, for one job: fetch and decode the conditioning input on the main side
 * (image2video: cover-resized image; action modes: chunk+1 frames fitted to the canvas; forward_dynamics: the
 * action rows), run the pipeline on a worker, encode the frames (JPEG for text2image, else MP4 at the request
 * fps). Downloaded temp files are always removed.
 */
export function createRunJob(deps: RunJobDeps): ExecuteJob {
  const m = deps.media ?? DEFAULT_MEDIA;
  const canvasOf = deps.canvas ?? ((h: number, w: number, tier: ActionTier) => actionCanvas(h, w, tier, DEFAULT_SPATIAL_FACTOR));

  return async (job, { signal, onProgress }) => {
    const timings: Record<string, number> = {};
    job.stageTimings = timings;
    const cleanups: (() => Promise<void>)[] = [];
    const fetchOpts = {
      inputRoots: deps.inputRoots,
      maxBytes: deps.maxInputBytes,
      timeoutMs: deps.inputTimeoutMs,
      allowPrivateAddresses: deps.allowPrivateUrls === true,
      signal,
      ...(deps.tmpRoot ? { tmpRoot: deps.tmpRoot } : {}),
    };
    const fetchFile = async (ref: string, field: string, maxBytes = deps.maxInputBytes): Promise<string> => {
      const fetched = await m.fetchInput(ref, field, { ...fetchOpts, maxBytes: Math.min(maxBytes, deps.maxInputBytes) });
      const tmp = fetched.tmp;
      if (tmp) cleanups.push(() => tmp.remove());
      return fetched.file;
    };
    /** Run a stage, recording its seconds under `key` whether it finishes, fails or is stopped. */
    const timed = async <T>(key: string, stage: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await stage();
      } finally {
        timings[key] = (performance.now() - t0) / 1000;
      }
    };
    /** The conditioning input of the spec's mode (action modes: the spec gets the canvas size). */
    const prepare = async (spec: JobSpec): Promise<{ spec: JobSpec; input: ConditioningInput }> => {
      switch (spec.mode) {
        case 'text2image':
        case 'text2video':
          return { spec, input: {} };
        case 'image2video': {
          assert(spec.visionPath !== undefined, 'image2video has vision_path');
          const file = await fetchFile(spec.visionPath, 'vision_path');
          const image = await m.decodeImage(file, 'vision_path');
          return { spec, input: { frames: await m.coverResize(image, spec.width, spec.height) } };
        }
        case 'forward_dynamics':
        case 'inverse_dynamics':
        case 'policy': {
          // the action rows first: a bad action file is refused before the clip is fetched and decoded
          let actions: number[][] | undefined;
          if (spec.mode === 'forward_dynamics') {
            assert(spec.actionPath !== undefined && spec.action !== undefined, 'forward_dynamics has action_path');
            const file = await fetchFile(spec.actionPath, 'action_path', ACTION_FILE_MAX_BYTES);
            actions = m.parseActions(await m.readFile(file), 'action_path', { width: spec.action.rawDim });
          }
          const prepared = await prepareActionInput(spec, fetchFile, m, canvasOf, signal);
          return actions ? { spec: prepared.spec, input: { ...prepared.input, actions } } : prepared;
        }
      }
    };
    try {
      onProgress({ stage: 'preparing', step: 0, totalSteps: job.spec.numSteps });
      const { spec, input } = await timed('prepare_s', () => prepare(job.spec));
      signal.throwIfAborted();

      const workerStages = (t: Readonly<Record<string, number>>) => {
        for (const [stage, seconds] of Object.entries(t)) timings[`worker_${stage}_s`] = seconds;
      };
      const result = await timed('run_s', () => deps.pool.run(job.id, spec, input, { signal, onProgress })).catch((err: unknown) => {
        workerStages(workerTimingsOf(err)); // a job that failed or stopped in the worker: the stages it went through
        throw err;
      });
      workerStages(result.timings);
      signal.throwIfAborted();

      onProgress({ stage: 'encode', step: spec.numSteps, totalSteps: spec.numSteps });
      return await timed('encode_s', async (): Promise<JobOutput> =>
        spec.mode === 'text2image'
          ? { spec, format: 'jpg', data: await m.encodeJpeg(result.frames, JPEG_QUALITY), timings }
          : {
              spec,
              format: 'mp4',
              data: await m.encodeMp4(result.frames, { fps: spec.fps, signal }),
              timings,
              ...(spec.mode === 'inverse_dynamics' || spec.mode === 'policy' ? { actions: result.actions ?? [] } : {}),
            });
    } finally {
      await Promise.allSettled(cleanups.map((c) => c()));
    }
  };
}

/**
 * The most bytes an action file may have. It is read and parsed as JSON on the main thread, so it is bounded far
 * below MAX_INPUT_BYTES: the model reads at most a 256-step chunk (30 values a row at most: ~200 kB as JSON).
 */
export const ACTION_FILE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Action modes: load the clip (video or image), cut it to the spatial factor, keep chunk+1 frames (cut, or pad
 * by repeating the last), scale it to fit the canvas (never up). The spec's width/height become the canvas size.
 */
async function prepareActionInput(
  spec: JobSpec,
  fetchFile: (ref: string, field: string) => Promise<string>,
  m: MediaDeps,
  canvasOf: CanvasFn,
  signal: AbortSignal,
): Promise<{ spec: JobSpec; input: ConditioningInput }> {
  assert(spec.action !== undefined && spec.visionPath !== undefined, `${spec.mode} has an action spec and vision_path`);
  const tier = spec.action.imageSize;
  assert(isActionTier(tier), `action tier ${tier}`);
  const pixelFrames = spec.action.chunkSize + 1;
  const file = await fetchFile(spec.visionPath, 'vision_path');
  const canvasFor = (height: number, width: number): ActionCanvas => {
    try {
      return canvasOf(height, width, tier);
    } catch (err) {
      throw withField(new InputUnreadableError('vision_path', `is too small (${width}x${height})`, { cause: err }), 'vision_path');
    }
  };
  let canvas: ActionCanvas | undefined;
  const loaded = await m.loadVision(file, 'vision_path', {
    maxFrames: pixelFrames,
    signal,
    targetSize: (width, height) => {
      canvas = canvasFor(height, width);
      return { width: canvas.sourceWidth, height: canvas.sourceHeight };
    },
    // each frame fitted as it is decoded (per frame, so the same pixels as fitting the clip): a large input holds
    // one frame at its own size, never chunk + 1 of them
    mapFrame: async (frame) => {
      canvas ??= canvasFor(frame.height, frame.width);
      return m.fitWithin(frame, canvas.canvasWidth, canvas.canvasHeight);
    },
  });
  assert(canvas !== undefined, 'the canvas is set once a frame is loaded');
  // the last frame repeated after the fit: the same pixels as repeating it before, at the canvas's size
  const clip = fitFrameCount(loaded.frames, pixelFrames);
  return { spec: { ...spec, width: canvas.canvasWidth, height: canvas.canvasHeight }, input: { frames: clip, canvas } };
}

/** Keep the first `count` frames, or pad by repeating the last one. */
export function fitFrameCount(frames: RgbFrames, count: number): RgbFrames {
  if (frames.frames === count) return frames;
  const frameBytes = frames.width * frames.height * 3;
  if (frames.frames > count) {
    return { ...frames, data: frames.data.slice(0, count * frameBytes), frames: count };
  }
  const data = new Uint8Array(count * frameBytes);
  data.set(frames.data.subarray(0, frames.frames * frameBytes));
  const last = frames.data.subarray((frames.frames - 1) * frameBytes, frames.frames * frameBytes);
  for (let f = frames.frames; f < count; f++) data.set(last, f * frameBytes);
  return { ...frames, data, frames: count };
}
