/**
 * bench:gpu — full-size Cosmos3-Nano on one GPU with ONNX Runtime's CUDA EP (bf16, random weights):
 * denoiser forwards at 44,160 (720p/189f) and 18,720 (480p/189f) vision tokens, text2image 720p end to end,
 * VAE decode of 189 frames at 720p (time and peak memory), projected text2video end to end for the defaults
 * (35 steps, CFG 6), the published H100 times beside them, and, when PyTorch + diffusers are on the host,
 * the reference transformer's forward at the same sizes. Prints JSON lines, then a table.
 *
 * Usage: node bench-gpu.js [--dir /tmp/c3s-gpu] [--device cuda:0] [--phases model,forward,t2i,vae] [--tiny]
 * (--tiny runs the same script at toy size on the CPU provider, for CI-side checking of the script itself)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mropePositions } from '../../src/pipeline/index.js';
import { openOrtModel, type OrtModel } from '../../src/engine/ort-runner.js';
import type { DeviceSpec } from '../../src/engine/ort/index.js';
import { ensureTinyModel } from '../../src/convert/tiny/index.js';
import { WeightRandom } from '../../src/convert/tiny/random.js';
import type { JobSpec } from '../../src/shared/index.js';
import { buildRealModel } from './real-model.js';
import { GpuMemorySampler } from './gpu-memory.js';
import { REAL_TRANSFORMER_CONFIG } from './real-config.js';

const PUBLISHED = {
  t2v720_h100_s: { 'PyTorch reference': 207.8, 'vLLM-Omni': 202.3, diffusers: 240, 'NIM (FP8)': 199.5 },
  t2i720_h100_s: { 'vLLM-Omni': 2.61, PyTorch: 3.45 },
  forward44k_floor_s: 2.7,
  vae720_h200_ref: { seconds: 10.5, peakGB: 12.4 },
};

interface Row { metric: string; value: string; target?: string }

const results: Record<string, unknown> = {};
const rows: Row[] = [];
const emit = (o: Record<string, unknown>) => {
  Object.assign(results, o);
  process.stdout.write(JSON.stringify(o) + '\n');
};
const log = (s: string) => process.stderr.write(`[bench:gpu] ${s}\n`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Standard normal values from the tiny model's seeded generator. */
function randn(n: number, seed: number): Float32Array {
  return new WeightRandom(seed).fillNormal(new Float32Array(n), 0, 1);
}

async function timeForward(model: OrtModel, T: number, H: number, W: number, textLen: number, runs: number, mem: GpuMemorySampler) {
  const rows_ = Math.ceil(H / 2);
  const cols = Math.ceil(W / 2);
  const inputIds = BigInt64Array.from({ length: textLen }, (_, i) => BigInt((i * 7919) % 256));
  const positions = mropePositions({ baseFps: 24, margin: 15000, temporalFactor: 4, soundLatentFps: 25 }, { textLength: textLen, vision: { frames: T, rows: rows_, cols }, fps: 24 });
  const latents = { data: randn(48 * T * H * W, 7), shape: [1, 48, T, H, W] };
  const visionNoisy = new Float32Array(T).fill(1);
  const times: number[] = [];
  mem.reset();
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const out = await model.networks.denoiser.run({ inputIds, visionLatents: latents, visionNoisy, timestep: 900, positions });
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) times.push(dt);
    if (!out.vision.data.every(Number.isFinite)) log(`warning: non-finite velocity at ${T}x${H}x${W}`);
  }
  return { tokens: T * rows_ * cols, seconds: median(times), all: times, peakGB: mem.peakGB() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: path.join(os.tmpdir(), 'c3s-gpu') },
      device: { type: 'string', default: 'cuda:0' },
      phases: { type: 'string', default: 'model,forward,t2i,vae,torch' },
      tiny: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      'deadline-s': { type: 'string', default: '0' },
      'vae-chunk': { type: 'string', default: '4' },
    },
    strict: true,
  });
  const phases = new Set(values.phases!.split(','));
  const device = (values.tiny ? 'cpu' : values.device) as DeviceSpec;
  const runs = Number(values.runs);
  const started = performance.now();
  const deadlineS = Number(values['deadline-s']);
  /** Seconds left before the caller's deadline (Infinity without one). */
  const left = () => (deadlineS > 0 ? deadlineS - (performance.now() - started) / 1000 : Infinity);
  const mem = new GpuMemorySampler();
  let gpuName = 'cpu';
  try {
    gpuName = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8' }).trim();
  } catch { /* no GPU: --tiny */ }
  emit({ bench: 'gpu', date: new Date().toISOString(), device, gpu: gpuName, node: process.version, tiny: values.tiny });

  let modelDir: string;
  const t0 = performance.now();
  if (values.tiny) {
    modelDir = path.join(values.dir!, 'tiny');
    await ensureTinyModel(modelDir);
  } else {
    await rm(values.dir!, { recursive: true, force: true });
    await mkdir(values.dir!, { recursive: true });
    const m = await buildRealModel(values.dir!, { dtype: 'bfloat16', vae: true, log });
    modelDir = m.dir;
    emit({ weights: `random bf16; the 36 transformer layers share one stored layer (${m.storedTransformerGB.toFixed(2)} GiB on disk), loaded as 36 separate copies on the GPU` });
  }
  emit({ modelBuildSeconds: +((performance.now() - t0) / 1000).toFixed(1) });

  if (!['forward', 't2i', 'vae'].some((p) => phases.has(p))) {
    mem.stop();
    return;
  }
  const t1 = performance.now();
  const model = await openOrtModel(modelDir, device, { vaeDecodeChunk: Number(values['vae-chunk']) });
  emit({ sessionOpenSeconds: +((performance.now() - t1) / 1000).toFixed(1), gpuMemAfterLoadGB: +mem.currentGB().toFixed(1) });

  const sizes: [string, number, number, number][] = values.tiny
    ? [['tiny 17f', 5, 4, 6]]
    : [['720p/189f', 48, 45, 80], ['480p/189f', 48, 30, 52]];
  const fwd: Record<string, { tokens: number; seconds: number; peakGB: number }> = {};
  const guarded = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      emit({ phaseFailed: name, error: (err as Error).message.slice(0, 500) });
      rows.push({ metric: `${name} (failed)`, value: (err as Error).message.slice(0, 120) });
    }
  };
  if (phases.has('forward')) await guarded('forward', async () => {
    for (const [label, T, H, W] of sizes) {
      const r = await timeForward(model, T, H, W, 300, runs, mem);
      fwd[label] = r;
      emit({ forward: label, visionTokens: r.tokens, textTokens: 300, seconds: +r.seconds.toFixed(3), runs: r.all.map((x) => +x.toFixed(3)), peakGpuGB: +r.peakGB.toFixed(1) });
      rows.push({ metric: `denoiser forward, ${r.tokens} vision tokens (${label})`, value: `${r.seconds.toFixed(3)} s (CFG step ${(2 * r.seconds).toFixed(3)} s)`, target: label.startsWith('720') ? `≤ ${(PUBLISHED.forward44k_floor_s * 1.1).toFixed(2)} s (floor ${PUBLISHED.forward44k_floor_s} s + 10%)` : undefined });
    }
  });

  if (phases.has('t2i')) await guarded('t2i', async () => {
    if (left() < 60) throw new Error(`skipped: ${left().toFixed(0)} s left`);
    const spec: JobSpec = {
      mode: 'text2image', prompt: 'A medium shot of a modern robotics research laboratory with white walls and a gray floor.', negativePrompt: '',
      resolution: '720', aspectRatio: '16,9', width: values.tiny ? 96 : 1280, height: values.tiny ? 64 : 720, numFrames: 1, fps: 24, seed: 0,
      numSteps: values.tiny ? 3 : 50, guidance: 4, shift: 3,
    };
    await model.pipelines.runPipeline({ ...spec, numSteps: 2 }, {}, model.networks, model.text, {});
    const times: number[] = [];
    for (let i = 0; i < 2; i++) {
      const s = performance.now();
      const r = await model.pipelines.runPipeline(spec, {}, model.networks, model.text, {});
      times.push((performance.now() - s) / 1000);
      if (i === 1) emit({ t2iStages: r.timings });
    }
    const t = Math.min(...times);
    emit({ text2image: `${spec.width}x${spec.height}`, steps: spec.numSteps, guidance: spec.guidance, seconds: +t.toFixed(3) });
    rows.push({ metric: `text2image ${spec.width}×${spec.height}, ${spec.numSteps} steps, CFG (JPEG encode excluded)`, value: `${t.toFixed(2)} s`, target: `≤ 2.6 s (vLLM-Omni ${PUBLISHED.t2i720_h100_s['vLLM-Omni']} s, PyTorch ${PUBLISHED.t2i720_h100_s.PyTorch} s)` });
  });

  let vaeSeconds = NaN;
  if (phases.has('vae')) await guarded('vae', async () => {
    const [T, H, W] = values.tiny ? [5, 4, 6] : [48, 45, 80];
    const latent = { data: randn(48 * T * H * W, 11), shape: [1, 48, T, H, W] };
    const base = mem.currentGB();
    await model.networks.vae.decode({ data: randn(48 * 2 * H * W, 3), shape: [1, 48, 2, H, W] });
    mem.reset();
    const s = performance.now();
    const px = await model.networks.vae.decode(latent);
    vaeSeconds = (performance.now() - s) / 1000;
    const peak = mem.peakGB();
    emit({ vaeDecode: `${px.shape[2]} frames ${px.shape[4]}x${px.shape[3]}`, seconds: +vaeSeconds.toFixed(2), peakGpuGB: +peak.toFixed(1), baselineGpuGB: +base.toFixed(1), vaeExtraGB: +(peak - base).toFixed(1) });
    rows.push({ metric: `VAE decode ${px.shape[2]} frames ${px.shape[4]}×${px.shape[3]} (${(model.networks.vae as { lastRun?: { graphs?: string; runs?: number } }).lastRun?.graphs ?? 'chunked'} graphs)`, value: `${vaeSeconds.toFixed(2)} s, +${(peak - base).toFixed(1)} GB over the loaded model`, target: `≤ 8 s, ≤ 12 GB (reference ${PUBLISHED.vae720_h200_ref.seconds} s, ${PUBLISHED.vae720_h200_ref.peakGB} GB)` });
  });

  const f720 = fwd['720p/189f'];
  if (f720 && Number.isFinite(vaeSeconds)) {
    const encodeS = 189 / 89; // CPU MP4 encode at the measured 89 fps on 2 cores (bench/encode-mp4)
    const projected = 35 * 2 * f720.seconds + vaeSeconds + encodeS;
    emit({ projectedText2video720Seconds: +projected.toFixed(1), assumptions: '35 steps × (cond + uncond) forwards at 44,160 tokens + VAE decode + MP4 encode at 89 fps' });
    rows.push({ metric: 'projected text2video 720p/189f, 35 steps, CFG 6', value: `${projected.toFixed(1)} s`, target: `≤ 200 s (published H100: ${Object.entries(PUBLISHED.t2v720_h100_s).map(([k, v]) => `${k} ${v} s`).join(', ')})` });
    rows.push({ metric: 'peak GPU memory during the 720p/189f forward', value: `${f720.peakGB.toFixed(1)} GB`, target: '≤ 60 GB' });
  }
  await model.release();

  if (phases.has('torch') && !values.tiny && process.env.TORCH_PYTHON && left() < 150) {
    emit({ torch: { skipped: `only ${left().toFixed(0)} s left before the deadline` } });
  } else if (phases.has('torch') && !values.tiny && process.env.TORCH_PYTHON) {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const cfgFile = path.join(values.dir!, 'real-transformer-config.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(cfgFile, JSON.stringify(REAL_TRANSFORMER_CONFIG)));
    try {
      const out = execFileSync(process.env.TORCH_PYTHON, [process.env.TORCH_SCRIPT ?? path.join(here, 'torch_forward.py'), cfgFile, JSON.stringify(sizes.map(([, T, H, W]) => [T, H, W])), '300'],
        { encoding: 'utf8', timeout: Math.floor(Math.min(300_000, Math.max(60_000, (left() - 10) * 1000))), stdio: ['ignore', 'pipe', 'inherit'] });
      for (const line of out.trim().split('\n')) {
        const o = JSON.parse(line) as { vision_tokens?: number; forward_s?: number; error?: string };
        emit({ torch: o });
        if (o.vision_tokens && o.forward_s) {
          const ours = Object.values(fwd).find((f) => f.tokens === o.vision_tokens);
          rows.push({ metric: `PyTorch reference forward, ${o.vision_tokens} tokens (same GPU)`, value: `${o.forward_s.toFixed(3)} s${ours ? ` — ORT/PyTorch ${(ours.seconds / o.forward_s).toFixed(2)}` : ''}`, target: 'ORT ≤ PyTorch' });
        }
      }
    } catch (err) {
      emit({ torch: { error: (err as Error).message.slice(0, 300) } });
    }
  }
  mem.stop();
  process.stdout.write(`\n| metric | measured (${gpuName.split(',')[0]}) | target / published |\n|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.metric} | ${r.value} | ${r.target ?? ''} |\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
