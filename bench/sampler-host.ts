/**
 * The sampler's own work per step at the real model's largest latent, with a denoiser that costs nothing: what a
 * GPU request pays on the host every step besides the network (CFG combination, velocity handling, the UniPC
 * step), and the VAE output conversion the host no longer does (signedToRgb over a 720p/189-frame video, for
 * scale: the rgb8 graphs do it on the device). 720p/189f text2video: latent [1, 48, 48, 45, 80] (8.3M values),
 * 35 steps, CFG 6. Prints JSON lines.
 * Usage: node dist/bench/sampler-host.js [--steps 8] [--frames 189]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { flowSchedule, sample, signedToRgb, type Denoiser } from '../src/pipeline/index.js';

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { steps: { type: 'string', default: '8' }, frames: { type: 'string', default: '189' } }, strict: true });
  const steps = Number(values.steps);
  const frames = Number(values.frames);
  const T = (frames - 1) / 4 + 1;
  const shape = [1, 48, T, 45, 80];
  const n = shape.reduce((a, b) => a * b, 1);
  const cond = new Float32Array(n).map((_, i) => Math.sin(i * 1e-3));
  const uncond = new Float32Array(n).map((_, i) => Math.cos(i * 1e-3));
  // a fresh output array per pass, as ONNX Runtime hands back; filled by a copy (memcpy speed), not computed
  const denoiser: Denoiser = {
    async run(inputs) {
      return { vision: { data: (inputs.inputIds.length === 1 ? cond : uncond).slice(), shape: inputs.visionLatents.shape } };
    },
  };
  const { timesteps, sigmas } = flowSchedule(35, 10, { numTrainTimesteps: 1000, native: false });
  const stepTimes: number[] = [];
  let last = performance.now();
  await sample(denoiser, {
    cond: { inputIds: new BigInt64Array(1), positions: new Float32Array(3) },
    uncond: { inputIds: new BigInt64Array(2), positions: new Float32Array(6) },
    vision: { data: new Float32Array(n).map((_, i) => Math.sin(i)), shape },
    visionNoisy: new Float32Array(T).fill(1),
    timesteps: timesteps.slice(0, steps),
    sigmas: Float32Array.from([...sigmas.slice(0, steps), 0]),
    guidance: 6,
    solver: { order: 2, lowerOrderFinal: true },
  }, {
    onStep: () => {
      const now = performance.now();
      stepTimes.push(now - last);
      last = now;
    },
  });
  const steady = stepTimes.slice(1).sort((a, b) => a - b);
  const median = steady[Math.floor(steady.length / 2)];
  process.stdout.write(JSON.stringify({ bench: 'sampler-host', device: 'cpu', node: process.version, latent: shape, values: n, steps, msPerStep: stepTimes.map((t) => +t.toFixed(1)), medianMsPerStep: +median.toFixed(1), projected35StepsS: +((median * 35) / 1000).toFixed(2) }) + '\n');

  const H = 720;
  const W = 1280;
  const per = 3 * H * W;
  const slice = Math.min(frames, 16); // a slice of the video, scaled: 2 GB of float32 pixels would be the point
  const pixels = new Float32Array(per * slice).map((_, i) => Math.sin(i * 1e-2));
  const t0 = performance.now();
  signedToRgb({ data: pixels, shape: [1, 3, slice, H, W] });
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ bench: 'sampler-host', what: 'signedToRgb on the host (what the rgb8 VAE graphs replace)', frames: slice, seconds: +s.toFixed(3), projectedSecondsFor: { frames, seconds: +((s * frames) / slice).toFixed(2) } }) + '\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
