import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { RgbFrames } from '../../src/shared/index.js';

/** Test helpers for src/media: scratch dirs, generated images and videos, ffprobe, process checks. */

const run = promisify(execFile);

/** A scratch directory for one test file; `cleanup()` removes it. */
export async function scratchDir(name: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `c3s-test-${name}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function listDir(path: string): Promise<string[]> {
  return readdir(path);
}

/** Frames with a moving diagonal gradient, [F, H, W, 3]. */
export function gradientFrames(frames: number, width: number, height: number): RgbFrames {
  const data = new Uint8Array(frames * height * width * 3);
  let i = 0;
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        data[i++] = (x + f * 4) & 255;
        data[i++] = (y + f * 2) & 255;
        data[i++] = (x + y + f * 8) & 255;
      }
    }
  }
  return { data, frames, height, width };
}

/** A solid-colour RGB frame. */
export function solidFrames(frames: number, width: number, height: number, rgb: readonly [number, number, number]): RgbFrames {
  const data = new Uint8Array(frames * height * width * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, frames, height, width };
}

export interface ImageSpec {
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp';
  alpha?: boolean;
  greyscale?: boolean;
  /** EXIF orientation tag 1..8 (JPEG). */
  orientation?: number;
}

/** Write an image whose left half is red and right half blue (so orientation and crops are visible). */
export async function writeImage(path: string, spec: ImageSpec): Promise<void> {
  const channels = spec.alpha ? 4 : 3;
  const data = Buffer.alloc(spec.width * spec.height * channels);
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      const o = (y * spec.width + x) * channels;
      const left = x < spec.width / 2;
      data[o] = left ? 255 : 0;
      data[o + 1] = 0;
      data[o + 2] = left ? 0 : 255;
      if (channels === 4) data[o + 3] = 128;
    }
  }
  let img = sharp(data, { raw: { width: spec.width, height: spec.height, channels } });
  if (spec.greyscale) img = img.greyscale();
  if (spec.orientation) img = img.withMetadata({ orientation: spec.orientation });
  await img.toFormat(spec.format).toFile(path);
}

export interface VideoSpec {
  width: number;
  height: number;
  frames: number;
  fps: number;
  /** Default libx264 in mp4. */
  codec?: string;
  pixFmt?: string;
}

/** Write a testsrc clip with ffmpeg; the container follows the file extension. */
export async function writeVideo(path: string, spec: VideoSpec): Promise<void> {
  await run('ffmpeg', [
    '-nostdin', '-v', 'error',
    '-f', 'lavfi', '-i', `testsrc=size=${spec.width}x${spec.height}:rate=${spec.fps}`,
    '-frames:v', String(spec.frames),
    '-c:v', spec.codec ?? 'libx264', '-pix_fmt', spec.pixFmt ?? 'yuv420p',
    ...(spec.codec === undefined || spec.codec === 'libx264' ? ['-preset', 'ultrafast'] : []),
    '-y', path,
  ]);
}

export interface ProbedStream {
  codec_name: string;
  pix_fmt: string;
  width: number;
  height: number;
  r_frame_rate: string;
  avg_frame_rate: string;
  nb_read_frames: string;
  color_space?: string;
}

/** Probe a file independently of src/media: decode every frame to count them. */
export async function ffprobeStream(file: string): Promise<{ stream: ProbedStream; formatName: string }> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file,
  ]);
  const parsed = JSON.parse(stdout) as { streams: ProbedStream[]; format: { format_name: string } };
  return { stream: parsed.streams[0], formatName: parsed.format.format_name };
}

/** A base64 response body (an MP4) written to `dir/name`, then probed as ffprobeStream does. */
export async function probeBase64(dir: string, b64: string, name: string): Promise<{ stream: ProbedStream; formatName: string }> {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(b64, 'base64'));
  return ffprobeStream(file);
}

/** True when the first bytes put the moov atom before mdat (faststart). */
export function moovBeforeMdat(mp4: Buffer): boolean {
  const moov = mp4.indexOf('moov');
  const mdat = mp4.indexOf('mdat');
  return moov > 0 && mdat > 0 && moov < mdat;
}

/** PIDs of live processes whose command line contains `needle` (Linux /proc). */
export async function processesMatching(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`)).toString('utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Mean absolute difference between two equally sized byte arrays. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`meanAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** The RGB value at (x, y) of frame f. */
export function pixel(frames: RgbFrames, x: number, y: number, f = 0): [number, number, number] {
  const o = ((f * frames.height + y) * frames.width + x) * 3;
  return [frames.data[o], frames.data[o + 1], frames.data[o + 2]];
}
