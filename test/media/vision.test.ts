import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitWithinSize, loadVision } from '../../src/media/index.js';
import { InputUnreadableError } from '../../src/shared/index.js';
import { scratchDir, writeImage, writeVideo } from '../support/media-fixtures.js';

let dir: { path: string; cleanup: () => Promise<void> };
let png: string;
let mp4: string;
beforeAll(async () => {
  dir = await scratchDir('vision');
  png = join(dir.path, 'image.png');
  mp4 = join(dir.path, 'clip.mp4');
  await writeImage(png, { width: 80, height: 60, format: 'png' });
  await writeVideo(mp4, { width: 96, height: 54, frames: 20, fps: 8 });
});
afterAll(() => dir.cleanup());

describe('loadVision', () => {
  it('loads an image as one frame', async () => {
    const v = await loadVision(png, 'vision_path', { maxFrames: 17 });
    expect(v).toMatchObject({ kind: 'image', sourceWidth: 80, sourceHeight: 60 });
    expect([v.frames.frames, v.frames.width, v.frames.height]).toEqual([1, 80, 60]);
    expect(v.fps).toBeUndefined();
  });

  it('loads a video, keeping at most maxFrames', async () => {
    const v = await loadVision(mp4, 'vision_path', { maxFrames: 17 });
    expect(v).toMatchObject({ kind: 'video', sourceWidth: 96, sourceHeight: 54, fps: 8 });
    expect([v.frames.frames, v.frames.width, v.frames.height]).toEqual([17, 96, 54]);
  });

  it('decides by content, not by file name', async () => {
    const videoNamedJpg = join(dir.path, 'actually-a-video.jpg');
    const imageWithoutExt = join(dir.path, 'input');
    await copyFile(mp4, videoNamedJpg);
    await copyFile(png, imageWithoutExt);
    expect((await loadVision(videoNamedJpg, 'vision_path', { maxFrames: 2 })).kind).toBe('video');
    expect((await loadVision(imageWithoutExt, 'vision_path', { maxFrames: 2 })).kind).toBe('image');
  });

  it('applies targetSize to images (sharp) and videos (ffmpeg)', async () => {
    const targetSize = (w: number, h: number) => fitWithinSize(w, h, 48, 48);
    const image = await loadVision(png, 'vision_path', { maxFrames: 5, targetSize });
    expect([image.frames.width, image.frames.height]).toEqual([48, 36]);
    const video = await loadVision(mp4, 'vision_path', { maxFrames: 5, targetSize });
    expect([video.frames.frames, video.frames.width, video.frames.height]).toEqual([5, 48, 27]);
  });

  it('neither image nor video → 400 naming the field', async () => {
    const junk = join(dir.path, 'junk.bin');
    await writeFile(junk, Buffer.from('%PDF-1.4 definitely not media'));
    const err = await loadVision(junk, 'vision_path', { maxFrames: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputUnreadableError);
    expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
    expect((err as Error).message).toBe('vision_path: not a readable image or video');
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(loadVision(mp4, 'vision_path', { maxFrames: 1, signal: controller.signal })).rejects.toThrow('gone');
  });
});
