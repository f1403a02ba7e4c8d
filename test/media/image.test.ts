import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coverPlan,
  coverResize,
  decodeImage,
  encodeJpeg,
  fitWithin,
  fitWithinSize,
  resizeFrames,
} from '../../src/media/index.js';
import { InputUnreadableError } from '../../src/shared/index.js';
import { gradientFrames, meanAbsDiff, pixel, scratchDir, solidFrames, writeImage } from '../support/media-fixtures.js';

const run = promisify(execFile);
const RED: [number, number, number] = [255, 0, 0];
const BLUE: [number, number, number] = [0, 0, 255];

describe('decodeImage', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    dir = await scratchDir('image');
  });
  afterAll(() => dir.cleanup());

  it('decodes a PNG file to one RGB frame', async () => {
    const file = join(dir.path, 'a.png');
    await writeImage(file, { width: 40, height: 20, format: 'png' });
    const img = await decodeImage(file, 'vision_path');
    expect({ frames: img.frames, width: img.width, height: img.height }).toEqual({ frames: 1, width: 40, height: 20 });
    expect(img.data.length).toBe(40 * 20 * 3);
    expect(pixel(img, 5, 10)).toEqual(RED);
    expect(pixel(img, 35, 10)).toEqual(BLUE);
  });

  it('decodes from a buffer too', async () => {
    const file = join(dir.path, 'b.webp');
    await writeImage(file, { width: 16, height: 16, format: 'webp' });
    const img = await decodeImage(await readFile(file), 'vision_path');
    expect([img.width, img.height, img.frames]).toEqual([16, 16, 1]);
  });

  it('drops alpha without compositing (like PIL convert("RGB"))', async () => {
    const file = join(dir.path, 'alpha.png');
    await writeImage(file, { width: 8, height: 8, format: 'png', alpha: true });
    const img = await decodeImage(file, 'vision_path');
    expect(img.data.length).toBe(8 * 8 * 3);
    expect(pixel(img, 0, 0)).toEqual(RED);
  });

  it('expands greyscale to three channels', async () => {
    const file = join(dir.path, 'grey.png');
    await writeImage(file, { width: 8, height: 4, format: 'png', greyscale: true });
    const img = await decodeImage(file, 'vision_path');
    expect(img.data.length).toBe(8 * 4 * 3);
    const [r, g, b] = pixel(img, 0, 0);
    expect(r).toBe(g);
    expect(g).toBe(b);
  });

  it('applies EXIF orientation (6 = rotate 90° clockwise)', async () => {
    const file = join(dir.path, 'rot.jpg');
    await writeImage(file, { width: 40, height: 20, format: 'jpeg', orientation: 6 });
    const img = await decodeImage(file, 'vision_path');
    expect([img.width, img.height]).toEqual([20, 40]);
    // Left half (red) ends up on top after a clockwise quarter turn.
    expect(pixel(img, 10, 5)[0]).toBeGreaterThan(200);
    expect(pixel(img, 10, 35)[2]).toBeGreaterThan(200);
  });

  it('corrupt or truncated bytes → 400 InputUnreadableError naming the field', async () => {
    const jpeg = await readFile(join(dir.path, 'rot.jpg'));
    for (const bad of [Buffer.from('definitely not an image'), jpeg.subarray(0, jpeg.length >> 1)]) {
      const err = await decodeImage(bad, 'vision_path').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputUnreadableError);
      expect(err).toMatchObject({ statusCode: 400, code: 'C3S_ERR_INPUT_UNREADABLE', field: 'vision_path' });
      expect((err as Error).message).toMatch(/^vision_path: /);
    }
    // what to send instead is in the message (a video here is the usual mistake)
    const err = await decodeImage(Buffer.from('definitely not an image'), 'vision_path').catch((e: unknown) => e);
    expect((err as Error).message).toBe('vision_path: not a readable image (an image file is needed: jpeg, png, webp, gif, tiff, heif)');
  });

  it('refuses images above the pixel limit', async () => {
    const file = join(dir.path, 'big.png');
    await writeImage(file, { width: 200, height: 100, format: 'png' });
    await expect(decodeImage(file, 'vision_path', { maxPixels: 10_000 })).rejects.toBeInstanceOf(InputUnreadableError);
    // the message says why: the declared size, not "not a readable image"
    await expect(decodeImage(file, 'vision_path', { maxPixels: 10_000 })).rejects.toMatchObject({
      field: 'vision_path', message: 'vision_path: image is too large (200×100 pixels; the limit is 10000)',
    });
  });

  it('refuses SVG (vector formats can reference other files)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>');
    const err = await decodeImage(svg, 'vision_path').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputUnreadableError);
    expect((err as Error).message).toMatch(/image format 'svg' is not accepted/);
  });

  it('decodes the first frame of an animated GIF', async () => {
    const file = join(dir.path, 'anim.gif');
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=12x10:rate=5', '-frames:v', '3', '-y', file]);
    expect((await sharp(file, { animated: true }).metadata()).pages).toBe(3);
    const img = await decodeImage(file, 'vision_path');
    expect([img.width, img.height, img.frames, img.data.length]).toEqual([12, 10, 1, 12 * 10 * 3]);
  });

  it('a missing file is unreadable too', async () => {
    await expect(decodeImage(join(dir.path, 'nope.png'), 'vision_path')).rejects.toBeInstanceOf(InputUnreadableError);
  });
});

describe('coverPlan (cosmos-framework _resize_and_center_crop rounding)', () => {
  // Expected values computed with the reference's Python expressions (ceil sizes, round-half-even offsets).
  it.each([
    [1920, 1080, 1280, 720, 1280, 720, 0, 0],
    [1000, 1000, 1280, 720, 1280, 1280, 0, 280],
    [640, 480, 832, 480, 832, 624, 0, 72],
    [333, 500, 320, 192, 320, 481, 0, 144],
    [101, 51, 64, 48, 96, 48, 16, 0],
    [1366, 768, 1280, 720, 1281, 720, 0, 0], // ceil gives 1281; offset round(0.5) = 0
    [999, 601, 736, 544, 905, 544, 84, 0],
    [7, 3, 2, 2, 5, 2, 2, 0], // round(1.5) = 2
    [9, 2, 4, 2, 9, 2, 2, 0], // round(2.5) = 2
  ])('%i×%i → %i×%i', (sw, sh, tw, th, rw, rh, left, top) => {
    expect(coverPlan(sw, sh, tw, th)).toEqual({ resizeWidth: rw, resizeHeight: rh, left, top });
  });

  it('rejects non-positive sizes', () => {
    expect(() => coverPlan(0, 10, 10, 10)).toThrow(RangeError);
    expect(() => coverPlan(10, 10, 10.5, 10)).toThrow(RangeError);
  });
});

describe('fitWithinSize (reflection_pad_to_target step 1)', () => {
  it.each([
    [333, 500, 256, 256, 170, 256],
    [1920, 1080, 320, 192, 320, 180],
    [100, 50, 320, 192, 100, 50], // never upscales
    [1366, 768, 832, 480, 832, 468],
    [641, 479, 320, 256, 320, 239],
  ])('%i×%i in %i×%i', (sw, sh, mw, mh, w, h) => {
    expect(fitWithinSize(sw, sh, mw, mh)).toEqual({ width: w, height: h });
  });
});

describe('coverResize / fitWithin / resizeFrames', () => {
  it('cover-resizes and centre-crops to the exact size', async () => {
    // 200×100, left half red: cover to 100×100 keeps columns 50..149.
    const half = new Uint8Array(200 * 100 * 3);
    for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) half.set(x < 100 ? RED : BLUE, (y * 200 + x) * 3);
    const out = await coverResize({ data: half, frames: 1, width: 200, height: 100 }, 100, 100);
    expect([out.width, out.height, out.frames, out.data.length]).toEqual([100, 100, 1, 100 * 100 * 3]);
    expect(pixel(out, 10, 50)).toEqual(RED);
    expect(pixel(out, 90, 50)).toEqual(BLUE);
  });

  it('upscales when the source is smaller than the target', async () => {
    const out = await coverResize(solidFrames(1, 32, 18, [10, 200, 30]), 1280, 720);
    expect([out.width, out.height]).toEqual([1280, 720]);
    expect(pixel(out, 640, 360)).toEqual([10, 200, 30]);
  });

  it('processes every frame', async () => {
    const frames = gradientFrames(3, 64, 48);
    const out = await coverResize(frames, 32, 32);
    expect(out.frames).toBe(3);
    expect(out.data.length).toBe(3 * 32 * 32 * 3);
    // frames differ (the gradient moves), so per-frame processing did not repeat frame 0
    expect(meanAbsDiff(out.data.subarray(0, 3072), out.data.subarray(3072, 6144))).toBeGreaterThan(1);
  });

  it('fitWithin never upscales and keeps the aspect ratio', async () => {
    const small = gradientFrames(2, 100, 50);
    expect(await fitWithin(small, 320, 192)).toBe(small);
    const big = await fitWithin(gradientFrames(2, 640, 360), 320, 256);
    expect([big.width, big.height, big.frames]).toEqual([320, 180, 2]);
  });

  it('resizeFrames keeps a flat colour flat', async () => {
    const out = await resizeFrames(solidFrames(1, 50, 30, [1, 2, 3]), 17, 11);
    expect([out.width, out.height]).toEqual([17, 11]);
    expect(pixel(out, 16, 10)).toEqual([1, 2, 3]);
  });

  it('rejects frames whose data does not match their shape', async () => {
    await expect(coverResize({ data: new Uint8Array(10), frames: 1, width: 4, height: 4 }, 2, 2)).rejects.toThrow(RangeError);
  });
});

describe('encodeJpeg', () => {
  it('encodes a decodable JPEG of the right size', async () => {
    const jpeg = await encodeJpeg(gradientFrames(1, 96, 64));
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const meta = await sharp(jpeg).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels, meta.chromaSubsampling]).toEqual(['jpeg', 96, 64, 3, '4:2:0']);
  });

  it('round-trips pixels closely at quality 95 and is smaller at lower quality', async () => {
    const frames = gradientFrames(1, 128, 128);
    const q95 = await encodeJpeg(frames);
    const q50 = await encodeJpeg(frames, 50);
    expect(q50.length).toBeLessThan(q95.length);
    const back = await decodeImage(q95, 'x');
    expect(meanAbsDiff(back.data, frames.data)).toBeLessThan(3);
  });

  it('refuses more than one frame and bad quality', async () => {
    await expect(encodeJpeg(gradientFrames(2, 8, 8))).rejects.toThrow(RangeError);
    await expect(encodeJpeg(gradientFrames(1, 8, 8), 0)).rejects.toThrow(RangeError);
  });

  it('writes files the caller can save', async () => {
    const dir = await scratchDir('jpeg');
    try {
      const file = join(dir.path, 'out.jpg');
      await writeFile(file, await encodeJpeg(solidFrames(1, 8, 8, [0, 255, 0])));
      expect((await sharp(file).metadata()).width).toBe(8);
    } finally {
      await dir.cleanup();
    }
  });
});
