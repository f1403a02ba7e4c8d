/**
 * Where a request's time goes, per mode, on the CPU with the embedded tiny model: the pipeline's own stage
 * timings (tokenize, noise, vae_encode, sampling, vae_decode) plus the output encode (JPEG by sharp, MP4 by
 * ffmpeg), as seconds and shares. Inputs are synthetic frames handed straight to the pipeline (fetch and
 * decode of inputs are measured by the media tests and bench/encode-mp4). Prints one JSON line per mode.
 * Usage: node dist/bench/pipeline-stages.js [--model-dir models/tiny]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { actionCanvas, DOMAINS, PIXEL_SIZES } from '../src/config/index.js';
import { ensureTinyModel } from '../src/convert/tiny/index.js';
import { openOrtModel } from '../src/engine/ort-runner.js';
import { encodeJpeg, encodeMp4 } from '../src/media/index.js';
import type { ConditioningInput, JobSpec, RgbFrames } from '../src/shared/index.js';

function frames(n: number, width: number, height: number): RgbFrames {
  const data = new Uint8Array(n * width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 10)) & 0xff;
  return { data, frames: n, width, height };
}

function baseSpec(mode: JobSpec['mode'], over: Partial<JobSpec>): JobSpec {
  const [width, height] = PIXEL_SIZES['256']['16,9'];
  return { mode, prompt: 'A robot arm stacks two red cubes on a wooden table.', negativePrompt: '', resolution: '256', aspectRatio: '16,9', width, height, numFrames: 33, fps: 24, seed: 0, numSteps: 35, guidance: 6, shift: 10, ...over };
}

function actionCase(mode: JobSpec['mode'], srcW: number, srcH: number): { spec: JobSpec; input: ConditioningInput } {
  const chunk = 16;
  const canvas = actionCanvas(srcH, srcW, 256, 16);
  const d = DOMAINS.bridge_orig_lerobot;
  const spec = baseSpec(mode, {
    width: canvas.canvasWidth, height: canvas.canvasHeight, numFrames: chunk + 1, fps: 5, numSteps: 30, guidance: 1, shift: 5,
    action: { imageSize: 256, chunkSize: chunk, domainName: 'bridge_orig_lerobot', domainId: d.id, rawDim: d.rawDim },
  });
  const input: ConditioningInput = {
    frames: frames(chunk + 1, canvas.contentWidth, canvas.contentHeight),
    ...(mode === 'forward_dynamics' ? { actions: Array.from({ length: chunk }, (_, t) => Array.from({ length: d.rawDim }, (_, k) => Math.sin(t + k))) } : {}),
  };
  return { spec, input };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'model-dir': { type: 'string', default: 'models/tiny' } }, strict: true });
  const modelDir = path.resolve(values['model-dir']!);
  await ensureTinyModel(modelDir);
  const model = await openOrtModel(modelDir, 'cpu', {});
  const [w256, h256] = PIXEL_SIZES['256']['16,9'];
  const [w720, h720] = PIXEL_SIZES['720']['16,9'];
  const cases: { spec: JobSpec; input: ConditioningInput }[] = [
    { spec: baseSpec('text2image', { resolution: '720', width: w720, height: h720, numFrames: 1, numSteps: 50, guidance: 4, shift: 3 }), input: {} },
    { spec: baseSpec('text2video', {}), input: {} },
    { spec: baseSpec('image2video', {}), input: { frames: frames(1, w256, h256) } },
    actionCase('forward_dynamics', 320, 256),
    actionCase('inverse_dynamics', 320, 256),
    actionCase('policy', 320, 256),
  ];
  try {
    for (const { spec, input } of cases) {
      const t0 = performance.now();
      const result = await model.pipelines.runPipeline(spec, input, model.networks, model.text, {});
      const te = performance.now();
      if (spec.mode === 'text2image') await encodeJpeg(result.frames, 95);
      else await encodeMp4(result.frames, { fps: spec.fps });
      const encode = (performance.now() - te) / 1000;
      const stages: Record<string, number> = { ...result.timings, encode };
      const total = (performance.now() - t0) / 1000;
      const share = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, +(v / total).toFixed(3)]));
      process.stdout.write(JSON.stringify({
        bench: 'pipeline-stages', device: 'cpu', model: 'tiny', mode: spec.mode,
        size: `${spec.width}x${spec.height}x${spec.numFrames}`, steps: spec.numSteps, guidance: spec.guidance,
        totalSeconds: +total.toFixed(3), seconds: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, +v.toFixed(3)])), share,
      }) + '\n');
    }
  } finally {
    await model.release();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
