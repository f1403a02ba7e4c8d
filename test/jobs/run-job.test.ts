import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { actionCanvas } from '../../src/config/index.js';
import { ACTION_FILE_MAX_BYTES, DEFAULT_SPATIAL_FACTOR, Job, createRunJob, fitFrameCount, type JobExecutor } from '../../src/jobs/index.js';
import { decodeVideo, fitWithin } from '../../src/media/index.js';
import type { ConditioningInput, JobSpec, PipelineResult } from '../../src/shared/index.js';
import { scratchDir, writeImage, writeVideo } from '../support/media-fixtures.js';
import { fakeMedia } from '../support/server-harness.js';

const base = {
  prompt: 'p', negativePrompt: '', resolution: '256', aspectRatio: '16,9', width: 320, height: 192,
  numFrames: 5, fps: 12, seed: 1, numSteps: 2, guidance: 6, shift: 10,
} as const;

/** A pool stand-in that records what it was given and returns `frames` frames of the spec size. */
function recordingPool(actions?: number[][]) {
  const seen: { spec: JobSpec; input: ConditioningInput }[] = [];
  const pool: JobExecutor = {
    async run(_id, spec, input, hooks) {
      seen.push({ spec, input });
      hooks.onProgress({ stage: 'sampling', step: 1, totalSteps: 2 });
      const frames = input.frames ?? { data: new Uint8Array(spec.numFrames * 4 * 4 * 3), frames: spec.numFrames, height: 4, width: 4 };
      return { frames, timings: { sampling: 0.5 }, ...(actions ? { actions } : {}) } satisfies PipelineResult;
    },
  };
  return { pool, seen };
}

const run = async (spec: JobSpec, pool: JobExecutor, calls: string[] = []) => {
  const execute = createRunJob({ pool, inputRoots: [], maxInputBytes: 1e6, inputTimeoutMs: 1_000, media: fakeMedia(calls) });
  const stages: string[] = [];
  const out = await execute(new Job(spec, { retain: false, now: 0 }), { signal: new AbortController().signal, onProgress: (p) => stages.push(p.stage) });
  return { out, stages };
};

describe('run-job', () => {
  it('text2image → JPEG; text2video → MP4 at the request fps; stages in order; worker timings kept', async () => {
    const { pool } = recordingPool();
    const img = await run({ ...base, mode: 'text2image', numFrames: 1 }, pool);
    expect(img.out.format).toBe('jpg');
    expect(img.out.data.toString()).toBe('JPEG 4x4x1');
    const vid = await run({ ...base, mode: 'text2video' }, pool);
    expect(vid.out.format).toBe('mp4');
    expect(vid.out.data.toString()).toBe('MP4 4x4x5@12');
    expect(vid.stages).toEqual(['preparing', 'sampling', 'encode']);
    expect(vid.out.timings).toMatchObject({ worker_sampling_s: 0.5 });
    expect(vid.out.actions).toBeUndefined();
  });

  it('a job that fails or stops while preparing its inputs still records prepare_s', async () => {
    const { pool } = recordingPool();
    const media = { ...fakeMedia(), fetchInput: async () => { throw Object.assign(new Error('no such file'), { code: 'C3S_ERR_INPUT_FETCH', statusCode: 400 }); } };
    const execute = createRunJob({ pool, inputRoots: [], maxInputBytes: 1e6, inputTimeoutMs: 1_000, media });
    const job = new Job({ ...base, mode: 'image2video', visionPath: 'missing.png' }, { retain: false, now: 0 });
    await expect(execute(job, { signal: new AbortController().signal, onProgress() {} })).rejects.toThrow('no such file');
    expect(Object.keys(job.stageTimings ?? {})).toEqual(['prepare_s']);
  });

  it('a job that fails or is stopped while encoding keeps encode_s with the stages before it', async () => {
    const { pool } = recordingPool();
    const media = { ...fakeMedia(), encodeMp4: async () => { throw Object.assign(new Error('stopped'), { name: 'AbortError' }); } };
    const execute = createRunJob({ pool, inputRoots: [], maxInputBytes: 1e6, inputTimeoutMs: 1_000, media });
    const job = new Job({ ...base, mode: 'text2video' }, { retain: false, now: 0 });
    await expect(execute(job, { signal: new AbortController().signal, onProgress() {} })).rejects.toThrow('stopped');
    expect(Object.keys(job.stageTimings ?? {}).sort()).toEqual(['encode_s', 'prepare_s', 'run_s', 'worker_sampling_s']);
  });

  it('image2video: the image is cover-resized to the output size, one frame', async () => {
    const { pool, seen } = recordingPool();
    const calls: string[] = [];
    await run({ ...base, mode: 'image2video', visionPath: 'img.png' }, pool, calls);
    expect(calls).toEqual(['fetch vision_path img.png']);
    expect(seen[0].input.frames).toMatchObject({ frames: 1, width: 320, height: 192 });
  });

  it('action modes: chunk+1 frames (padded by repeating the last), fitted to the canvas; the spec gets the canvas size', async () => {
    const actions = [[0.1, 0.2]];
    const { pool, seen } = recordingPool(actions);
    const action = { imageSize: 256, chunkSize: 8, domainName: 'pusht', domainId: 4, rawDim: 2 };
    const { out } = await run({ ...base, mode: 'policy', numFrames: 9, visionPath: 'clip.mp4', action }, pool);
    // fake clip: 5 frames of 200×120 → cut to 192×112 → 16:9 bin at 256 is 320×192: never scaled up
    expect(seen[0].input.frames).toMatchObject({ frames: 9, width: 192, height: 112 });
    expect(seen[0].spec).toMatchObject({ width: 320, height: 192 });
    expect(out.actions).toEqual(actions);
    expect(out.data.toString()).toBe('MP4 192x112x9@12');
  });

  it('forward_dynamics also parses the action rows at the domain width', async () => {
    const { pool, seen } = recordingPool();
    const action = { imageSize: 256, chunkSize: 4, domainName: 'pusht', domainId: 4, rawDim: 2 };
    const { out } = await run({ ...base, mode: 'forward_dynamics', visionPath: 'v.mp4', actionPath: '[[1,2],[3,4]]', action }, pool);
    expect(seen[0].input.actions).toEqual([[1, 2], [3, 4]]);
    expect(out.actions).toBeUndefined();
    const bad = run({ ...base, mode: 'forward_dynamics', visionPath: 'v.mp4', actionPath: '[[1,2,3]]', action }, pool);
    await expect(bad).rejects.toMatchObject({ code: 'C3S_ERR_INVALID_FIELD', field: 'action_path' });
  });

  it('removes downloaded temp dirs even when the job fails', async () => {
    let removed = 0;
    const media = fakeMedia();
    const execute = createRunJob({
      pool: { run: () => Promise.reject(new Error('worker failed')) },
      inputRoots: [], maxInputBytes: 1, inputTimeoutMs: 1,
      media: { ...media, fetchInput: async (ref) => ({ file: ref, bytes: 1, tmp: { path: '/tmp/x', file: (n: string) => n, remove: async () => void removed++ } }) },
    });
    const job = new Job({ ...base, mode: 'image2video', visionPath: 'x.png' }, { retain: false, now: 0 });
    await expect(execute(job, { signal: new AbortController().signal, onProgress() {} })).rejects.toThrow('worker failed');
    expect(removed).toBe(1);
  });

  it('action modes with real media: a large image is fitted before its frames are repeated (no chunk+1 copies at its own size)', async () => {
    const dir = await scratchDir('runjob-big');
    try {
      // 4000×3000 RGB is 36 MB; 257 copies of it (chunk 256) were 9.25 GB: an out-of-range typed array, a 500
      const png = join(dir.path, 'big.png');
      await writeImage(png, { width: 4000, height: 3000, format: 'png' });
      const { pool, seen } = recordingPool([[0, 0]]);
      const execute = createRunJob({ pool, inputRoots: [dir.path], maxInputBytes: 1e8, inputTimeoutMs: 10_000 });
      const action = { imageSize: 256, chunkSize: 256, domainName: 'pusht', domainId: 4, rawDim: 2 };
      const spec: JobSpec = { ...base, mode: 'policy', numFrames: 257, visionPath: png, action };
      await execute(new Job(spec, { retain: false, now: 0 }), { signal: new AbortController().signal, onProgress() {} });
      // 257 frames of the canvas content's size (within the canvas the spec now carries)
      const frames = seen[0].input.frames!;
      expect(frames.frames).toBe(257);
      expect(frames.width).toBeLessThanOrEqual(seen[0].spec.width);
      expect(frames.height).toBeLessThanOrEqual(seen[0].spec.height);
      expect(frames.data.length).toBe(257 * frames.width * frames.height * 3);
      // the last frame repeated: every frame the same pixels as the first
      const one = frames.width * frames.height * 3;
      expect(Buffer.from(frames.data.subarray(256 * one)).equals(Buffer.from(frames.data.subarray(0, one)))).toBe(true);
    } finally {
      await dir.cleanup();
    }
  });

  it('action modes with real media: a video is fitted frame by frame as decoded, then padded; the same pixels as fitting the whole clip', async () => {
    const dir = await scratchDir('runjob-video');
    try {
      const mp4 = join(dir.path, 'clip.mp4');
      await writeVideo(mp4, { width: 650, height: 490, frames: 12, fps: 10 });
      const { pool, seen } = recordingPool([[0, 0]]);
      const execute = createRunJob({ pool, inputRoots: [dir.path], maxInputBytes: 1e8, inputTimeoutMs: 10_000 });
      const action = { imageSize: 256, chunkSize: 20, domainName: 'pusht', domainId: 4, rawDim: 2 };
      await execute(new Job({ ...base, mode: 'policy', numFrames: 21, visionPath: mp4, action }, { retain: false, now: 0 }), { signal: new AbortController().signal, onProgress() {} });
      // what the clip was before frames were fitted one by one: all of them decoded at the cut size, then fitted
      const canvas = actionCanvas(490, 650, 256, DEFAULT_SPATIAL_FACTOR);
      const whole = await fitWithin(await decodeVideo(mp4, 'vision_path', { maxFrames: 21, width: canvas.sourceWidth, height: canvas.sourceHeight }), canvas.canvasWidth, canvas.canvasHeight);
      const expected = fitFrameCount(whole, 21);
      const got = seen[0].input.frames!;
      expect([got.frames, got.width, got.height]).toEqual([21, expected.width, expected.height]);
      expect(Buffer.from(got.data).equals(Buffer.from(expected.data))).toBe(true);
      expect(seen[0].spec).toMatchObject({ width: canvas.canvasWidth, height: canvas.canvasHeight });
    } finally {
      await dir.cleanup();
    }
  });

  it(`forward_dynamics: an action file over ${ACTION_FILE_MAX_BYTES} bytes is refused before it is read (it is parsed on the main thread)`, async () => {
    const dir = await scratchDir('runjob-actions');
    try {
      const png = join(dir.path, 'v.png');
      await writeImage(png, { width: 64, height: 48, format: 'png' });
      const big = join(dir.path, 'a.json');
      await writeFile(big, `[${'[0.000000001,0.000000001],'.repeat(Math.ceil(ACTION_FILE_MAX_BYTES / 26))}[0,0]]`);
      const { pool } = recordingPool();
      const execute = createRunJob({ pool, inputRoots: [dir.path], maxInputBytes: 1e9, inputTimeoutMs: 10_000 });
      const action = { imageSize: 256, chunkSize: 4, domainName: 'pusht', domainId: 4, rawDim: 2 };
      const job = new Job({ ...base, mode: 'forward_dynamics', visionPath: png, actionPath: big, action }, { retain: false, now: 0 });
      await expect(execute(job, { signal: new AbortController().signal, onProgress() {} }))
        .rejects.toMatchObject({ code: 'C3S_ERR_INPUT_TOO_LARGE', field: 'action_path', message: `action_path: input is larger than the limit of ${ACTION_FILE_MAX_BYTES} bytes` });
    } finally {
      await dir.cleanup();
    }
  });

  it('fitFrameCount cuts or pads by repeating the last frame', () => {
    const f = { data: Uint8Array.from([1, 1, 1, 2, 2, 2]), frames: 2, height: 1, width: 1 };
    expect(Array.from(fitFrameCount(f, 4).data)).toEqual([1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(Array.from(fitFrameCount(f, 1).data)).toEqual([1, 1, 1]);
  });
});
