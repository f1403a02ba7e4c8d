import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputUnreadableError, MediaToolError, withField, type RgbFrames } from '../shared/index.js';
import { DEFAULT_MEDIA_TOOLS, runTool, type MediaTools } from './ffmpeg.js';
import { DEFAULT_MAX_INPUT_PIXELS, checkFrames } from './image.js';
import { createTmpDir } from './tmp.js';

/**
 * Video with ffmpeg: probe, decode to RGB frames, encode H.264 MP4. Inputs are untrusted, so every ffmpeg/ffprobe
 * that reads one is limited to the `file` protocol and to real video containers (no playlists, concat lists or
 * image pipes that could pull in other files).
 */

/** Demuxers allowed to read request inputs: MP4/MOV, Matroska/WebM, AVI (the reference's video extensions). */
export const INPUT_DEMUXERS = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi';
const INPUT_GUARDS = ['-protocol_whitelist', 'file', '-format_whitelist', INPUT_DEMUXERS] as const;
const PROBE_STDOUT_BYTES = 1 << 20;

export interface VideoInfo {
  /** Display size (after the rotation ffmpeg applies when decoding). */
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Frames in the first video stream (from the container, or counted when it does not say). */
  readonly frames: number;
  /** ffmpeg codec name, e.g. 'h264'. */
  readonly codec: string;
  /** Pixel format of the stream, e.g. 'yuv420p'. */
  readonly pixelFormat: string;
  /** Container as ffprobe names it, e.g. 'mov,mp4,m4a,3gp,3g2,mj2'. */
  readonly format: string;
}

export interface MediaToolOptions {
  readonly tools?: MediaTools;
  readonly signal?: AbortSignal;
}

/** Probe the first video stream. Not a readable video → InputUnreadableError naming `field`. */
export async function probeVideo(file: string, field: string, options: MediaToolOptions = {}): Promise<VideoInfo> {
  const tools = options.tools ?? DEFAULT_MEDIA_TOOLS;
  const path = resolve(file);
  const probe = await readable(field, 'not a readable video', () =>
    runTool({
      binary: tools.ffprobe,
      args: ['-v', 'error', ...INPUT_GUARDS, '-select_streams', 'v:0', '-show_streams', '-show_format', '-of', 'json', path],
      maxStdoutBytes: PROBE_STDOUT_BYTES,
      signal: options.signal,
    }),
  );
  const parsed = JSON.parse(probe.stdout.toString('utf8')) as FfprobeOutput;
  const stream = parsed.streams?.[0];
  if (!stream || stream.codec_type !== 'video' || !(Number(stream.width) > 0) || !(Number(stream.height) > 0)) {
    throw unreadable(field, 'has no video stream');
  }
  const quarterTurn = Math.abs(rotationOf(stream)) % 180 === 90;
  const fps = parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate);
  let frames = Number(stream.nb_frames);
  if (!Number.isInteger(frames) || frames <= 0) frames = await countFrames(path, field, tools, options.signal);
  return {
    width: quarterTurn ? Number(stream.height) : Number(stream.width),
    height: quarterTurn ? Number(stream.width) : Number(stream.height),
    fps,
    frames,
    codec: stream.codec_name ?? 'unknown',
    pixelFormat: stream.pix_fmt ?? 'unknown',
    format: parsed.format?.format_name ?? 'unknown',
  };
}

export interface DecodeVideoOptions extends MediaToolOptions {
  /** Decode the first `maxFrames` frames (fewer when the video is shorter). */
  readonly maxFrames: number;
  /** Output size; when given, ffmpeg scales (bicubic) to exactly this. Default: the display size. */
  readonly width?: number;
  readonly height?: number;
  /** Refuse outputs larger than this many pixels per frame. */
  readonly maxPixels?: number;
  /** Reuse a probe already made for this file. */
  readonly info?: VideoInfo;
  /** Applied to each frame as ffmpeg delivers it (e.g. a resize), so that only one decoded frame is held at a
   *  time: a large input then costs one frame's memory, not `maxFrames` of them. Every result must have one
   *  frame, all of one size. */
  readonly mapFrame?: (frame: RgbFrames) => Promise<RgbFrames>;
}

/**
 * Decode the first frames of a video to RGB (rgb24 rawvideo on a pipe, timestamps passed through: no frames
 * duplicated or dropped). Returns between 1 and `maxFrames` frames; none decodable → InputUnreadableError.
 */
export async function decodeVideo(file: string, field: string, options: DecodeVideoOptions): Promise<RgbFrames> {
  const { maxFrames } = options;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new RangeError(`decodeVideo: maxFrames must be ≥ 1, got ${maxFrames}`);
  if ((options.width === undefined) !== (options.height === undefined)) {
    throw new RangeError('decodeVideo: give both width and height, or neither');
  }
  const tools = options.tools ?? DEFAULT_MEDIA_TOOLS;
  const path = resolve(file);
  const info = options.info ?? (await probeVideo(path, field, options));
  const width = options.width ?? info.width;
  const height = options.height ?? info.height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`decodeVideo: size must be positive integers, got ${width}×${height}`);
  }
  if (width * height > (options.maxPixels ?? DEFAULT_MAX_INPUT_PIXELS)) {
    throw unreadable(field, `is too large (${width}×${height} per frame)`);
  }
  const frameBytes = width * height * 3;
  const scale = options.width === undefined ? [] : ['-vf', `scale=${width}:${height}:flags=bicubic+accurate_rnd+full_chroma_int`];
  const mapped = options.mapFrame ? new FrameMapper(width, height, options.mapFrame) : undefined;
  const { stdout } = await readable(field, 'not a readable video', () =>
    runTool({
      binary: tools.ffmpeg,
      args: [
        '-nostdin', '-v', 'error', ...INPUT_GUARDS, '-i', path,
        '-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-frames:v', String(maxFrames),
        ...scale, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
      ],
      maxStdoutBytes: maxFrames * frameBytes,
      ...(mapped ? { onStdout: (chunk: Buffer) => mapped.push(chunk) } : {}),
      signal: options.signal,
    }),
  );
  if (mapped) {
    const out = mapped.result();
    if (out === undefined) throw unreadable(field, 'has no decodable frames');
    return out;
  }
  const frames = Math.floor(stdout.length / frameBytes);
  if (frames < 1) throw unreadable(field, 'has no decodable frames');
  const data = stdout.length === frames * frameBytes ? stdout : stdout.subarray(0, frames * frameBytes);
  return { data, frames, height, width };
}

/** Cuts a raw rgb24 stream into frames and maps each as soon as it is complete (a trailing partial frame is dropped). */
class FrameMapper {
  readonly #frameBytes: number;
  #current: Buffer;
  #filled = 0;
  readonly #out: RgbFrames[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
    readonly map: (frame: RgbFrames) => Promise<RgbFrames>,
  ) {
    this.#frameBytes = width * height * 3;
    this.#current = Buffer.allocUnsafe(this.#frameBytes);
  }

  async push(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length;) {
      const n = Math.min(this.#frameBytes - this.#filled, chunk.length - off);
      chunk.copy(this.#current, this.#filled, off, off + n);
      this.#filled += n;
      off += n;
      if (this.#filled < this.#frameBytes) continue;
      const frame = await this.map({ data: this.#current, frames: 1, width: this.width, height: this.height });
      const first = this.#out[0];
      if (frame.frames !== 1 || frame.data.length !== frame.width * frame.height * 3 || (first && (frame.width !== first.width || frame.height !== first.height))) {
        throw new RangeError(`decodeVideo: mapFrame must return one frame of one size, got ${frame.frames} of ${frame.width}×${frame.height}`);
      }
      this.#out.push(frame);
      // a new buffer: the mapped frame may be the one just filled
      this.#current = Buffer.allocUnsafe(this.#frameBytes);
      this.#filled = 0;
    }
  }

  /** The mapped frames as one clip; undefined when no whole frame arrived. */
  result(): RgbFrames | undefined {
    const first = this.#out[0];
    if (!first) return undefined;
    const bytes = first.width * first.height * 3;
    const data = new Uint8Array(bytes * this.#out.length);
    this.#out.forEach((f, i) => data.set(f.data.subarray(0, bytes), i * bytes));
    return { data, frames: this.#out.length, width: first.width, height: first.height };
  }
}

/** libx264 settings: see docs/media.md for the speed/quality trade-off. */
export const MP4_ENCODER = Object.freeze({ preset: 'veryfast', crf: 18 });

export interface EncodeMp4Options extends MediaToolOptions {
  readonly fps: number;
  /** Parent for the owned temp dir (default: OS temp dir). */
  readonly tmpRoot?: string;
  readonly preset?: string;
  readonly crf?: number;
  /** Observed when set: how often feeding stdin waited for 'drain' (for tests and benchmarks). */
  readonly onStats?: (stats: { readonly drainWaits: number }) => void;
}

/**
 * Encode frames as H.264 MP4 (libx264, yuv420p, BT.709 tagged, `+faststart`) at the request's fps. Raw frames go
 * to ffmpeg's stdin with backpressure; the MP4 is written to an owned temp file (faststart rewrites the file, so
 * the output must be seekable), read back, and the temp dir removed in `finally`. yuv420p needs even sizes: an odd
 * width or height loses its last column or row (crop), a 1-pixel side is padded to 2 by repeating the edge.
 */
export async function encodeMp4(frames: RgbFrames, options: EncodeMp4Options): Promise<Buffer> {
  checkFrames(frames);
  const { fps } = options;
  if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`encodeMp4: fps must be > 0, got ${fps}`);
  const tools = options.tools ?? DEFAULT_MEDIA_TOOLS;
  const { width, height } = frames;
  const tmp = await createTmpDir('mp4', { root: options.tmpRoot });
  try {
    const out = tmp.file('out.mp4');
    const result = await runTool({
      binary: tools.ffmpeg,
      args: [
        '-nostdin', '-v', 'error',
        '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
        '-vf', [...evenSizeFilters(width, height), 'scale=out_color_matrix=bt709:out_range=tv', 'format=yuv420p'].join(','),
        '-c:v', 'libx264', '-preset', options.preset ?? MP4_ENCODER.preset, '-crf', String(options.crf ?? MP4_ENCODER.crf),
        '-pix_fmt', 'yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
        '-an', '-movflags', '+faststart', '-f', 'mp4', '-y', out,
      ],
      stdin: frameChunks(frames),
      signal: options.signal,
    });
    options.onStats?.({ drainWaits: result.drainWaits });
    return await readFile(out);
  } catch (err) {
    if (options.signal?.aborted && err === options.signal.reason) throw err;
    if (err instanceof MediaToolError) throw err;
    throw new MediaToolError('encodeMp4', 'encoding failed', { cause: err });
  } finally {
    await tmp.remove();
  }
}

/** Filters that make both sides even: crop an odd side by one, pad a 1-pixel side to 2 (edge repeated). */
export function evenSizeFilters(width: number, height: number): string[] {
  const filters: string[] = [];
  const cropW = width > 1 ? width - (width % 2) : width;
  const cropH = height > 1 ? height - (height % 2) : height;
  if (cropW !== width || cropH !== height) filters.push(`crop=${cropW}:${cropH}:0:0`);
  if (cropW === 1 || cropH === 1) filters.push(`scale=${Math.max(cropW, 2)}:${Math.max(cropH, 2)}:flags=neighbor`);
  return filters;
}

/** One chunk per frame, views into `frames.data` (no copies). */
function* frameChunks(frames: RgbFrames): Generator<Uint8Array> {
  const bytes = frames.width * frames.height * 3;
  for (let f = 0; f < frames.frames; f++) yield frames.data.subarray(f * bytes, (f + 1) * bytes);
}

async function countFrames(path: string, field: string, tools: MediaTools, signal?: AbortSignal): Promise<number> {
  const probe = await readable(field, 'not a readable video', () =>
    runTool({
      binary: tools.ffprobe,
      args: ['-v', 'error', ...INPUT_GUARDS, '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'json', path],
      maxStdoutBytes: PROBE_STDOUT_BYTES,
      signal,
    }),
  );
  const parsed = JSON.parse(probe.stdout.toString('utf8')) as FfprobeOutput;
  const n = Number(parsed.streams?.[0]?.nb_read_packets);
  if (!Number.isInteger(n) || n <= 0) throw unreadable(field, 'has no video frames');
  return n;
}

/** Run a tool over a request input: the tool exiting with an error means the input is unreadable (400); a tool
 *  that cannot start stays a 500, aborts pass through. */
async function readable<T>(field: string, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof MediaToolError && 'exitCode' in err) throw withField(new InputUnreadableError(field, what, { cause: err }), field);
    throw err;
  }
}

function unreadable(field: string, what: string): Error {
  return withField(new InputUnreadableError(field, `video ${what}`), field);
}

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den = '1'] = rate.split('/');
  const value = Number(num) / Number(den);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function rotationOf(stream: FfprobeStream): number {
  for (const side of stream.side_data_list ?? []) {
    if (typeof side.rotation === 'number') return side.rotation;
  }
  const tag = Number(stream.tags?.rotate);
  return Number.isFinite(tag) ? tag : 0;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  pix_fmt?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string };
}
