import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo, encodeMp4, evenSizeFilters, fitWithin, probeVideo } from '../../src/media/index.js';
import { InputUnreadableError, MediaToolError } from '../../src/shared/index.js';
import {
  ffprobeStream,
  gradientFrames,
  meanAbsDiff,
  moovBeforeMdat,
  processesMatching,
  scratchDir,
  writeVideo,
} from '../support/media-fixtures.js';

const run = promisify(execFile);

let dir: { path: string; cleanup: () => Promise<void> };
let mp4: string;
beforeAll(async () => {
  dir = await scratchDir('video');
  mp4 = join(dir.path, 'clip.mp4');
  await writeVideo(mp4, { width: 64, height: 48, frames: 12, fps: 10 });
});
afterAll(() => dir.cleanup());

/** A fresh, empty temp root for one test, so leaks are visible. */
async function emptyRoot(name: string): Promise<string> {
  const root = join(dir.path, name);
  await run('mkdir', ['-p', root]);
  return root;
}

describe('probeVideo', () => {
  it('reads size, fps, frame count and codec', async () => {
    const info = await probeVideo(mp4, 'vision_path');
    expect(info).toMatchObject({ width: 64, height: 48, fps: 10, frames: 12, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(info.format).toMatch(/mp4/);
  });

  it('counts frames when the container does not say (WebM)', async () => {
    const webm = join(dir.path, 'clip.webm');
    await writeVideo(webm, { width: 32, height: 24, frames: 7, fps: 5, codec: 'libvpx-vp9' });
    expect(await probeVideo(webm, 'vision_path')).toMatchObject({ width: 32, height: 24, frames: 7, codec: 'vp9', fps: 5 });
  });

  it('reports the display size of a rotated video', async () => {
    const rotated = join(dir.path, 'rot.mp4');
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', mp4, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-y', rotated]);
    const info = await probeVideo(rotated, 'vision_path');
    expect([info.width, info.height]).toEqual([48, 64]);
    const frames = await decodeVideo(rotated, 'vision_path', { maxFrames: 1 });
    expect([frames.width, frames.height]).toEqual([48, 64]);
  });

  it('corrupt bytes → 400 naming the field', async () => {
    const bad = join(dir.path, 'bad.mp4');
    await writeFile(bad, Buffer.from('not a video at all, just text'));
    const err = await probeVideo(bad, 'vision_path').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputUnreadableError);
    expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
  });

  it('refuses playlists and other demuxers that can pull in other files', async () => {
    const playlist = join(dir.path, 'list.m3u8');
    await writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.2,\n${mp4}\n#EXT-X-ENDLIST\n`);
    await expect(probeVideo(playlist, 'vision_path')).rejects.toBeInstanceOf(InputUnreadableError);
    const concat = join(dir.path, 'list.txt');
    await writeFile(concat, `ffconcat version 1.0\nfile '${mp4}'\n`);
    await expect(probeVideo(concat, 'vision_path')).rejects.toBeInstanceOf(InputUnreadableError);
  });

  it('a missing ffprobe is a server error (500), not the client’s', async () => {
    const err = await probeVideo(mp4, 'vision_path', { tools: { ffmpeg: 'ffmpeg', ffprobe: '/nonexistent/ffprobe' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect(err).toMatchObject({ statusCode: 500 });
  });
});

describe('decodeVideo', () => {
  it('returns exactly the frames requested', async () => {
    const frames = await decodeVideo(mp4, 'vision_path', { maxFrames: 5 });
    expect([frames.frames, frames.width, frames.height, frames.data.length]).toEqual([5, 64, 48, 5 * 64 * 48 * 3]);
  });

  it('returns all frames of a shorter video', async () => {
    const frames = await decodeVideo(mp4, 'vision_path', { maxFrames: 100 });
    expect(frames.frames).toBe(12);
  });

  it('scales with ffmpeg when a size is given', async () => {
    const frames = await decodeVideo(mp4, 'vision_path', { maxFrames: 3, width: 32, height: 24 });
    expect([frames.frames, frames.width, frames.height, frames.data.length]).toEqual([3, 32, 24, 3 * 32 * 24 * 3]);
  });

  it('corrupt bytes → 400 naming the field', async () => {
    const bad = join(dir.path, 'bad2.mp4');
    await writeFile(bad, Buffer.alloc(4096, 0x42));
    await expect(decodeVideo(bad, 'vision_path', { maxFrames: 1 })).rejects.toMatchObject({
      code: 'C3S_ERR_INPUT_UNREADABLE',
      statusCode: 400,
      field: 'vision_path',
    });
  });

  it('mapFrame: each frame mapped as it is decoded, one at a time; the same pixels as mapping the whole clip after', async () => {
    const seen: number[] = [];
    let busy = false;
    const mapped = await decodeVideo(mp4, 'vision_path', {
      maxFrames: 7,
      mapFrame: async (f) => {
        expect(busy).toBe(false); // never two at once
        busy = true;
        seen.push(f.frames);
        const out = await fitWithin(f, 40, 40);
        busy = false;
        return out;
      },
    });
    expect(seen).toEqual([1, 1, 1, 1, 1, 1, 1]);
    const whole = await fitWithin(await decodeVideo(mp4, 'vision_path', { maxFrames: 7 }), 40, 40);
    expect([mapped.frames, mapped.width, mapped.height]).toEqual([7, 40, 30]);
    expect(Buffer.from(mapped.data).equals(Buffer.from(whole.data))).toBe(true);
    // a map that changes size between frames is a bug on our side, not the input's
    let n = 0;
    await expect(decodeVideo(mp4, 'vision_path', { maxFrames: 3, mapFrame: (f) => fitWithin(f, 40 - n++, 40) })).rejects.toThrow(/one size/);
  });

  it('validates its options', async () => {
    await expect(decodeVideo(mp4, 'v', { maxFrames: 0 })).rejects.toThrow(RangeError);
    await expect(decodeVideo(mp4, 'v', { maxFrames: 1, width: 10 })).rejects.toThrow(RangeError);
  });
});

describe('encodeMp4', () => {
  it('writes H.264 yuv420p MP4 with the requested frame count and fps, faststart, BT.709 tags', async () => {
    const root = await emptyRoot('enc-basic');
    const mp4Bytes = await encodeMp4(gradientFrames(10, 64, 48), { fps: 12, tmpRoot: root });
    expect(moovBeforeMdat(mp4Bytes)).toBe(true);
    const out = join(dir.path, 'basic.mp4');
    await writeFile(out, mp4Bytes);
    const { stream, formatName } = await ffprobeStream(out);
    expect(formatName).toMatch(/mp4/);
    expect(stream).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 64, height: 48, nb_read_frames: '10', r_frame_rate: '12/1' });
    expect(stream.color_space).toBe('bt709');
    expect(await readdir(root)).toEqual([]);
  });

  it('round-trips pixels closely (decodeVideo of encodeMp4)', async () => {
    const frames = gradientFrames(5, 64, 48);
    const out = join(dir.path, 'roundtrip.mp4');
    await writeFile(out, await encodeMp4(frames, { fps: 24 }));
    const back = await decodeVideo(out, 'x', { maxFrames: 5 });
    expect(back.frames).toBe(5);
    expect(meanAbsDiff(back.data, frames.data)).toBeLessThan(6);
  });

  it('keeps fractional fps', async () => {
    const out = join(dir.path, 'frac.mp4');
    await writeFile(out, await encodeMp4(gradientFrames(3, 32, 32), { fps: 7.5 }));
    expect((await ffprobeStream(out)).stream.r_frame_rate).toBe('15/2');
  });

  it.each([
    [65, 49, 64, 48],
    [33, 20, 32, 20],
    [1, 5, 2, 4],
  ])('odd size %i×%i is cropped to even %i×%i', async (w, h, ew, eh) => {
    const out = join(dir.path, `odd-${w}x${h}.mp4`);
    await writeFile(out, await encodeMp4(gradientFrames(2, w, h), { fps: 10 }));
    const { stream } = await ffprobeStream(out);
    expect([stream.width, stream.height, stream.nb_read_frames]).toEqual([ew, eh, '2']);
  });

  it('evenSizeFilters: nothing to do for even sizes', () => {
    expect(evenSizeFilters(64, 48)).toEqual([]);
    expect(evenSizeFilters(65, 48)).toEqual(['crop=64:48:0:0']);
  });

  it('streams a larger clip through stdin with backpressure (60 frames 640×360)', async () => {
    const root = await emptyRoot('enc-large');
    let drainWaits = -1;
    const bytes = await encodeMp4(gradientFrames(60, 640, 360), {
      fps: 24,
      tmpRoot: root,
      preset: 'ultrafast',
      onStats: (s) => (drainWaits = s.drainWaits),
    });
    expect(drainWaits).toBeGreaterThan(0);
    const out = join(dir.path, 'large.mp4');
    await writeFile(out, bytes);
    expect((await ffprobeStream(out)).stream).toMatchObject({ width: 640, height: 360, nb_read_frames: '60' });
    expect(await readdir(root)).toEqual([]);
  });

  it('abort kills ffmpeg, rejects with the reason and leaves no temp files', async () => {
    const root = await emptyRoot('enc-abort');
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 150);
    const err = await encodeMp4(gradientFrames(60, 640, 360), { fps: 24, tmpRoot: root, preset: 'slow', signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(err).toBe(reason);
    expect(await readdir(root)).toEqual([]);
    expect(await processesMatching(root)).toEqual([]);
  });

  it('an ffmpeg failure is a 500 MediaToolError and still removes the temp dir', async () => {
    const root = await emptyRoot('enc-fail');
    const err = await encodeMp4(gradientFrames(2, 32, 32), { fps: 10, tmpRoot: root, preset: 'no-such-preset' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect(err).toMatchObject({ statusCode: 500 });
    expect(await readdir(root)).toEqual([]);
  });

  it('a configured ffmpeg path that does not exist fails cleanly', async () => {
    const root = await emptyRoot('enc-nobin');
    const err = await encodeMp4(gradientFrames(1, 8, 8), {
      fps: 10,
      tmpRoot: root,
      tools: { ffmpeg: '/nonexistent/ffmpeg', ffprobe: 'ffprobe' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect(await readdir(root)).toEqual([]);
  });

  it('validates fps and frame data', async () => {
    await expect(encodeMp4(gradientFrames(1, 8, 8), { fps: 0 })).rejects.toThrow(RangeError);
    await expect(encodeMp4({ data: new Uint8Array(5), frames: 1, width: 8, height: 8 }, { fps: 5 })).rejects.toThrow(RangeError);
  });
});
