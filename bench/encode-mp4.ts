import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MP4_ENCODER, encodeMp4 } from '../src/media/index.js';
import type { RgbFrames } from '../src/shared/index.js';

/**
 * MP4 encode throughput: N synthetic frames (a translating diagonal gradient) at 1280×720 through encodeMp4
 * (stdin pipe → libx264 → temp file → Buffer), median of R runs. Prints one JSON line.
 *   node dist/bench/encode-mp4.js [--frames 96] [--width 1280] [--height 720] [--runs 3] [--fps 24] [--preset P] [--crf N]
 */

export interface EncodeBenchResult {
  readonly device: 'cpu';
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /** Median wall time of one encode, seconds. */
  readonly seconds: number;
  /** frames / seconds. */
  readonly fps: number;
  readonly runs: readonly number[];
  readonly preset: string;
  readonly crf: number;
  readonly outputBytes: number;
  readonly cpus: number;
  readonly versions: { readonly node: string; readonly ffmpeg: string };
}

/** A diagonal colour gradient translating by (4, 2) px per frame, wrapping around: every channel moves together,
 *  like a camera pan, so motion search has something to find. [F, H, W, 3]. */
export function movingGradient(frames: number, width: number, height: number): RgbFrames {
  const data = new Uint8Array(frames * width * height * 3);
  let i = 0;
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < height; y++) {
      const gy = (((y + 2 * f) % height) * 255) / height;
      for (let x = 0; x < width; x++) {
        const gx = (((x + 4 * f) % width) * 255) / width;
        data[i++] = gx;
        data[i++] = gy;
        data[i++] = (gx + gy) / 2;
      }
    }
  }
  return { data, frames, height, width };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<EncodeBenchResult> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      frames: { type: 'string', default: '96' },
      width: { type: 'string', default: '1280' },
      height: { type: 'string', default: '720' },
      runs: { type: 'string', default: '3' },
      fps: { type: 'string', default: '24' },
      preset: { type: 'string', default: MP4_ENCODER.preset },
      crf: { type: 'string', default: String(MP4_ENCODER.crf) },
    },
  });
  const frames = Number(values.frames);
  const width = Number(values.width);
  const height = Number(values.height);
  const runs = Number(values.runs);
  const crf = Number(values.crf);
  const preset = values.preset;
  const input = movingGradient(frames, width, height);

  const times: number[] = [];
  let outputBytes = 0;
  for (let r = 0; r < runs; r++) {
    const started = process.hrtime.bigint();
    const mp4 = await encodeMp4(input, { fps: Number(values.fps), preset, crf });
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
    outputBytes = mp4.length;
  }
  const seconds = median(times);
  const result: EncodeBenchResult = {
    device: 'cpu',
    frames,
    width,
    height,
    seconds: round(seconds, 3),
    fps: round(frames / seconds, 1),
    runs: times.map((t) => round(t, 3)),
    preset,
    crf,
    outputBytes,
    cpus: availableParallelism(),
    versions: { node: process.versions.node, ffmpeg: ffmpegVersion() },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

function ffmpegVersion(): string {
  try {
    return /ffmpeg version (\S+)/.exec(execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unavailable';
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
