/**
 * Peak memory of VAE decoding as the video grows: converts the tiny fixture VAE (float32) once, then decodes
 * T random latent frames at a bigger spatial size on the CPU provider, each measurement in a fresh child
 * process so its peak RSS is its own. Modes: `loop` (OrtVae.decode over vae_decoder_loop: one run, the caches
 * carried inside it), `chunked` (OrtVae.decode over the chunk graphs: one latent frame per run, caches carried
 * through the host; the output video still accumulates), `streamed` (OrtVae.decodeStream over the chunk
 * graphs: chunks handed over and dropped), `oneshot` (vae_decoder_full over the whole sequence). Loop and
 * chunked memory stay flat apart from the output itself (outputMB); one-shot grows with T. What the pipelines
 * get, RGB bytes, side by side: `bytes-graph` (OrtVae.decodeFrames over vae_decoder_loop_rgb8: the conversion in
 * the graph, bytes out) and `bytes-host` (the float32 Loop graph, then signedToRgb on the host: converter 0.5.0).
 * Usage: node dist/bench/vae-memory.js [--frames 2,4,8,16] [--size 256x448] [--modes loop,chunked,streamed,oneshot,bytes-graph,bytes-host]
 *        [--chunk 1 (latent frames per step run)] [--fixture test/fixtures/cosmos3-tiny] [--threads 0]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convertCheckpoint, readManifest } from '../src/convert/index.js';
import { OrtVae } from '../src/engine/ort-vae.js';

type Mode = 'loop' | 'chunked' | 'streamed' | 'oneshot' | 'bytes-graph' | 'bytes-host';

interface ChildResult {
  readonly seconds: number;
  readonly openRssMB: number;
  readonly peakRssMB: number;
  /** Session runs of the decode (1 for loop and oneshot, one per chunk for chunked/streamed). */
  readonly runs: number;
}

async function child(modelDir: string, mode: Mode, T: number, H: number, W: number, threads: number, chunk: number): Promise<ChildResult> {
  const graphs = mode === 'loop' || mode.startsWith('bytes') ? 'loop' : 'chunked';
  const vae = await OrtVae.open(modelDir, await readManifest(modelDir), { device: 'cpu', threads, decodeChunk: chunk, graphs, rgb8: mode === 'bytes-graph' });
  const h = H / vae.spatialFactor;
  const w = W / vae.spatialFactor;
  const data = new Float32Array(vae.zDim * T * h * w);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 31 - 1) * 2;
  }
  const latent = { data, shape: [1, vae.zDim, T, h, w] };
  if (mode === 'oneshot') await vae.decodeOneShot({ data: latent.data.slice(0, vae.zDim * h * w), shape: [1, vae.zDim, 1, h, w] }); // open the session
  const openRssMB = process.memoryUsage().rss / 2 ** 20;
  const t0 = performance.now();
  if (mode.startsWith('bytes')) await vae.decodeFrames(latent);
  else if (mode === 'chunked' || mode === 'loop') await vae.decode(latent);
  else if (mode === 'streamed') await vae.decodeStream(latent, () => {});
  else await vae.decodeOneShot(latent);
  const seconds = (performance.now() - t0) / 1000;
  const runs = mode === 'oneshot' ? 1 : vae.lastRun.runs;
  await vae.release();
  return { seconds, openRssMB, peakRssMB: process.resourceUsage().maxRSS / 1024, runs };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      frames: { type: 'string', default: '2,4,8,16' },
      size: { type: 'string', default: '256x448' },
      modes: { type: 'string', default: 'loop,chunked,streamed,oneshot,bytes-graph,bytes-host' },
      fixture: { type: 'string', default: 'test/fixtures/cosmos3-tiny' },
      threads: { type: 'string', default: '0' },
      chunk: { type: 'string', default: '1' },
      child: { type: 'string', multiple: true },
    },
    strict: true,
  });
  const [H, W] = values.size!.split('x').map(Number);
  const threads = Number(values.threads);
  const chunk = Number(values.chunk);
  if (values.child) {
    const [modelDir, mode, T] = values.child;
    process.stdout.write(JSON.stringify(await child(modelDir, mode as Mode, Number(T), H, W, threads, chunk)) + '\n');
    return;
  }
  const modelDir = await mkdtemp(path.join(os.tmpdir(), 'c3s-bench-vae-'));
  const self = fileURLToPath(import.meta.url);
  try {
    await convertCheckpoint({ checkpoint: path.resolve(values.fixture!), out: modelDir, dtype: 'float32', hash: false });
    for (const T of values.frames!.split(',').map(Number)) {
      for (const mode of values.modes!.split(',') as Mode[]) {
        const args = [self, '--size', values.size!, '--threads', String(threads), '--chunk', String(chunk), '--child', modelDir, '--child', mode, '--child', String(T)];
        const res = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim().split('\n').pop()!) as ChildResult;
        const pixelFrames = 4 * (T - 1) + 1;
        process.stdout.write(JSON.stringify({
          bench: 'vae-memory', device: 'cpu', mode, chunkLatentFrames: mode === 'oneshot' ? T : mode === 'loop' || mode.startsWith('bytes') ? 1 : chunk, latentFrames: T, pixelFrames, height: H, width: W, runs: res.runs,
          seconds: +res.seconds.toFixed(2), peakRssMB: Math.round(res.peakRssMB), openRssMB: Math.round(res.openRssMB),
          outputMB: mode === 'streamed' ? 0 : +((3 * pixelFrames * H * W * (mode.startsWith('bytes') ? 1 : 4)) / 2 ** 20).toFixed(1),
        }) + '\n');
      }
    }
  } finally {
    await rm(modelDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
