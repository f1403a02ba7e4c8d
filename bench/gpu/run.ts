/**
 * bench:gpu — Cosmos3-Nano on one GPU with ONNX Runtime's CUDA EP (bf16, random weights, full size):
 * - one denoiser forward at 44,160 (720p/189f) and 18,720 (480p/189f) vision tokens, the fused graph and its
 *   elementwise spelling side by side;
 * - text2image 720p end to end as served by default (text tower once per prompt) and, side by side, with both
 *   guidance passes in one run (PAIRED_GUIDANCE=1: the merged generator graph) and with the single graph; one
 *   pass at the big size through the merged graph against the plain generator (the cost of its If);
 * - text2video at both sizes as served, 3 steps each: the steady CFG step (cond + uncond), the VAE decode of the
 *   whole clip, the device-memory peak of the request; the projection for the defaults (35 steps, CFG 6);
 * - when PyTorch + diffusers are on the host, the reference transformer's forward at the same sizes;
 * - ONNX Runtime profiles (host-side and, from a child process with synchronous launches, kernel time per op
 *   type; the attention kernels chosen); the published H100 times beside the results.
 * Prints JSON lines, then a table.
 *
 * Usage: node bench-gpu.js [--size real|mid|tiny] [--dir /tmp/c3s-gpu] [--device cuda:0]
 *          [--phases model,forward,t2i,t2v,profile,kernels,torch] [--runs 3] [--deadline-s 0]
 * --size mid and tiny run on the CPU provider in float32: mid (real head layout, quarter width, 4 layers) for
 * CPU-side ratios, tiny (--tiny) to check the script itself in CI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { leadingColumns, signedToRgb } from '../../src/pipeline/index.js';
import type { Denoiser } from '../../src/pipeline/networks.js';
import { openOrtModel, warmVaeShapes } from '../../src/engine/ort-runner.js';
import { generatorFeeds, OrtDenoiser } from '../../src/engine/ort-denoiser.js';
import type { OrtVae } from '../../src/engine/ort-vae.js';
import { OrtSession, type DeviceSpec } from '../../src/engine/ort/index.js';
import { readManifest, writeSafetensors, type Manifest, type TensorToWrite } from '../../src/convert/index.js';
import type { JobSpec } from '../../src/shared/index.js';
import { buildRealModel } from './real-model.js';
import { GpuMemorySampler } from './gpu-memory.js';
import { BENCH_SIZES, type BenchSize } from './real-config.js';
import { findProfile, meanRun, profiledRuns, profileSummary, type ProfiledRun } from './profile.js';
import { forwardInputs, randn, TEXT_LEN, visionTokens } from './inputs.js';
import { KERNEL_TIME_CHILD, kernelTimeProfiles, parseKernelChild, profileSingleGraph } from './kernel-time.js';

const PUBLISHED = {
  t2v720_h100_s: { 'PyTorch reference': 207.8, 'vLLM-Omni': 202.3, diffusers: 240, 'NIM (FP8)': 199.5 },
  t2i720_h100_s: { 'vLLM-Omni': 2.61, PyTorch: 3.45 },
  forward44k_floor_s: 2.7,
  vae720_h200_ref: { seconds: 10.5, peakGB: 12.4 },
};

interface Row { metric: string; value: string; target?: string }

/** One text2video request as served, a few steps long. */
interface T2vRun {
  readonly label: string;
  readonly tokens: number;
  /** The last (steady) CFG step. */
  readonly stepSeconds: number;
  readonly vaeSeconds: number;
  /** Device memory peak over the whole request (model included). */
  readonly peakGB: number;
  readonly frames: number;
}

const rows: Row[] = [];
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');
const log = (s: string) => process.stderr.write(`[bench:gpu] ${s}\n`);
const s3 = (x: number) => +x.toFixed(3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Latent size of the ONNX Runtime / PyTorch parity forward: a 720p image (920 vision tokens). */
const PARITY_SHAPE = [1, 45, 80] as const;

/**
 * One forward's inputs and ONNX Runtime's output, for torch_forward.py to run the reference on the same inputs and
 * weights (safetensors: input_ids, positions, vision_latents, vision_noisy, timestep, vision_velocity).
 */
async function writeParityCase(denoiser: Denoiser, file: string): Promise<void> {
  const [T, H, W] = PARITY_SHAPE;
  const { inputs } = forwardInputs(T, H, W);
  const out = await denoiser.run(inputs);
  const tensors: TensorToWrite[] = [
    { name: 'input_ids', dtype: 'I64', shape: [inputs.inputIds.length], data: inputs.inputIds },
    { name: 'positions', dtype: 'F32', shape: [3, inputs.positions.length / 3], data: inputs.positions },
    { name: 'vision_latents', dtype: 'F32', shape: inputs.visionLatents.shape, data: inputs.visionLatents.data },
    { name: 'vision_noisy', dtype: 'F32', shape: [T], data: inputs.visionNoisy },
    { name: 'timestep', dtype: 'F32', shape: [1], data: Float32Array.of(inputs.timestep) },
    { name: 'vision_velocity', dtype: 'F32', shape: out.vision.shape, data: out.vision.data },
  ];
  await writeSafetensors(file, tensors, (name) => tensors.find((t) => t.name === name)!.data);
}

async function timeForward(denoiser: Denoiser, T: number, H: number, W: number, runs: number, mem: GpuMemorySampler) {
  const { tokens, inputs } = forwardInputs(T, H, W);
  const times: number[] = [];
  mem.reset();
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const out = await denoiser.run(inputs);
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) times.push(dt);
    if (!out.vision.data.every(Number.isFinite)) log(`warning: non-finite velocity at ${T}x${H}x${W}`);
  }
  return { tokens, seconds: median(times), all: times, peakGB: mem.peakGB() };
}

/** One text2video request as served (3 steps, CFG 6) at latent T×H×W: steady step, VAE decode, device-memory peak. */
async function timeText2video(
  model: Awaited<ReturnType<typeof openOrtModel>>, label: string, T: number, H: number, W: number, mem: GpuMemorySampler, variant: string, modelGB: number,
): Promise<T2vRun> {
  const steps = 3;
  const spec: JobSpec = {
    mode: 'text2video', prompt: 'A bustling city street at night, neon signs reflecting on wet pavement, light rain falling.', negativePrompt: '',
    resolution: H * 16 >= 720 ? '720' : H * 16 >= 480 ? '480' : '256', aspectRatio: '16,9', width: W * 16, height: H * 16,
    numFrames: (T - 1) * 4 + 1, fps: 24, seed: 0, numSteps: steps, guidance: 6, shift: 3,
  };
  const marks: number[] = []; // marks[0]: sampling starts; marks[i]: step i done
  mem.reset();
  const s = performance.now();
  const r = await model.pipelines.runPipeline(spec, {}, model.networks, model.text, {
    onProgress: (p) => {
      if (p.stage === 'sampling') marks[p.step] = performance.now();
    },
  });
  const total = (performance.now() - s) / 1000;
  // the first step also runs the text tower and picks kernels for the new shapes: the last one is the steady step
  const stepS = marks.slice(1).map((t, i) => (t - marks[i]) / 1000);
  const peak = mem.peakGB();
  const run: T2vRun = {
    label, tokens: visionTokens(T, H, W), stepSeconds: stepS[stepS.length - 1], vaeSeconds: r.timings.vae_decode ?? NaN,
    peakGB: peak, frames: r.frames?.frames ?? 0,
  };
  emit({
    text2video: label, variant, frames: run.frames, width: spec.width, height: spec.height, steps, guidance: spec.guidance,
    stepSeconds: stepS.map(s3), seconds: s3(total), stages: r.timings, peakGpuGB: +peak.toFixed(1), modelGpuGB: +modelGB.toFixed(1),
  });
  return run;
}

/** The manifest with `graph` standing in for the single vision transformer and no split graphs. */
function withSingle(manifest: Manifest, graph: string): Manifest {
  const graphs = Object.fromEntries(Object.entries(manifest.graphs).filter(([n]) => !n.startsWith('transformer')));
  return { ...manifest, graphs: { ...graphs, transformer: manifest.graphs[graph] } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'real' },
      tiny: { type: 'boolean', default: false },
      dir: { type: 'string', default: path.join(os.tmpdir(), 'c3s-gpu') },
      device: { type: 'string', default: 'cuda:0' },
      phases: { type: 'string', default: 'model,forward,t2i,t2v,profile,kernels,torch' },
      runs: { type: 'string', default: '3' },
      'deadline-s': { type: 'string', default: '0' },
      'vae-chunk': { type: 'string', default: '4' },
      /** Use the model already built in this folder (the GPU-time child process); skips the model build. */
      'model-dir': { type: 'string' },
    },
    strict: true,
  });
  const sizeName = values.tiny ? 'tiny' : values.size!;
  if (!(sizeName in BENCH_SIZES)) throw new Error(`--size must be one of ${Object.keys(BENCH_SIZES).join(', ')}`);
  const size: BenchSize = BENCH_SIZES[sizeName as keyof typeof BENCH_SIZES];
  const phases = new Set(values.phases!.split(','));
  const device = (size.device === 'cpu' ? 'cpu' : values.device) as DeviceSpec;
  const runs = Number(values.runs);
  const started = performance.now();
  const deadlineS = Number(values['deadline-s']);
  /** Seconds left before the caller's deadline (Infinity without one). */
  const left = () => (deadlineS > 0 ? deadlineS - (performance.now() - started) / 1000 : Infinity);
  const mem = new GpuMemorySampler();
  let gpuName = 'cpu';
  if (size.device === 'gpu') {
    try {
      gpuName = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8' }).trim();
    } catch { /* reported by the session open */ }
  }
  emit({ bench: 'gpu', date: new Date().toISOString(), size: sizeName, device, gpu: gpuName, node: process.version });
  const guarded = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      emit({ phaseFailed: name, error: (err as Error).message.slice(0, 500) });
      rows.push({ metric: `${name} (failed)`, value: (err as Error).message.slice(0, 120) });
    }
  };

  let modelDir: string;
  let manifest: Manifest;
  if (values['model-dir']) {
    modelDir = values['model-dir'];
    manifest = await readManifest(modelDir);
  } else {
    const t0 = performance.now();
    await rm(values.dir!, { recursive: true, force: true });
    await mkdir(values.dir!, { recursive: true });
    const built = await buildRealModel(values.dir!, { dtype: size.dtype, vae: true, log, transformer: size.transformer, vaeConfig: size.vae });
    ({ dir: modelDir, manifest } = built);
    emit({
      modelBuildSeconds: +((performance.now() - t0) / 1000).toFixed(1),
      weights: `random ${size.dtype}; the ${size.transformer.num_hidden_layers} transformer layers share one stored layer (${built.storedTransformerGB.toFixed(2)} GiB on disk), loaded as separate copies on the device`,
    });
  }
  if (phases.has(KERNEL_TIME_CHILD)) {
    // the child process of the 'kernels' phase: every launch synchronous, so each node's time is its GPU time
    try {
      for (const p of await kernelTimeProfiles(modelDir, manifest, size, device, values.dir!)) emit({ profile: p.what, kernelTime: true, ...profileSummary(p.run) });
    } finally {
      mem.stop(); // its nvidia-smi child would keep this process alive
    }
    return;
  }

  /** The parity forward's inputs and output (torch phase); the benchmark checkpoint's transformer weights. */
  const parityFile = path.join(values.dir!, 'parity.safetensors');
  const checkpointFile = path.join(values.dir!, 'ckpt', 'transformer', 'diffusion_pytorch_model.safetensors');

  // ---- forward: the fused graph and its elementwise spelling, one session at a time
  const fwd: Record<string, Record<string, { tokens: number; seconds: number; peakGB: number }>> = { fused: {}, unfused: {} };
  if (phases.has('forward')) await guarded('forward', async () => {
    for (const [variant, graph] of [['fused', 'transformer'], ['unfused', 'transformer_unfused']] as const) {
      if (left() < 90) {
        emit({ forwardVariant: variant, skipped: `${left().toFixed(0)} s left` });
        continue;
      }
      const t1 = performance.now();
      const denoiser = await OrtDenoiser.open(modelDir, withSingle(manifest, graph), { device });
      emit({ forwardVariant: variant, sessionOpenSeconds: +((performance.now() - t1) / 1000).toFixed(1), gpuMemAfterLoadGB: +mem.currentGB().toFixed(1) });
      try {
        for (const [label, T, H, W] of size.forwards) {
          if (left() < 45) break;
          const r = await timeForward(denoiser, T, H, W, runs, mem);
          fwd[variant][label] = r;
          emit({ forward: label, variant, visionTokens: r.tokens, textTokens: TEXT_LEN, seconds: s3(r.seconds), runs: r.all.map(s3), peakGpuGB: +r.peakGB.toFixed(1) });
        }
        if (variant === 'fused' && phases.has('torch') && process.env.TORCH_PYTHON) await writeParityCase(denoiser, parityFile);
      } finally {
        await denoiser.release();
      }
    }
  });

  // ---- text2image end to end: with both guidance passes in one run (PAIRED_GUIDANCE=1), as served by default
  // (text tower once per prompt, passes one by one; text2video as served is measured in this session too), then
  // the single graph
  const t2i: Record<string, number> = {};
  const t2v: Record<string, T2vRun> = {};
  const servedForward: Record<string, number> = {};
  const vaeBytes: Record<string, { graphS: number; hostS: number }> = {};
  const t2iVariants = [
    ['pair', { splitTransformer: true, pairedGuidance: true }], // PAIRED_GUIDANCE=1
    ['split', { splitTransformer: true, pairedGuidance: false }],
    ['single', { splitTransformer: false, pairedGuidance: false }],
  ] as const;
  for (const [variant, graphs] of t2iVariants) {
    const wantT2i = phases.has('t2i');
    const wantT2v = variant === 'split' && phases.has('t2v'); // the default served configuration
    if (!wantT2i && !wantT2v) continue;
    await guarded(`t2i ${variant}`, async () => {
      if (left() < 60) throw new Error(`skipped: ${left().toFixed(0)} s left`);
      const t1 = performance.now();
      const model = await openOrtModel(modelDir, device, { vaeDecodeChunk: Number(values['vae-chunk']), ...graphs });
      const graphsOpen = (model.networks.denoiser as OrtDenoiser).graphs;
      emit({ t2iVariant: variant, graphs: graphsOpen, sessionOpenSeconds: +((performance.now() - t1) / 1000).toFixed(1), gpuMemAfterLoadGB: +mem.currentGB().toFixed(1) });
      const modelGB = mem.currentGB();
      if (variant === 'split') {
        rows.push({ metric: `GPU memory after loading the model as served (${graphsOpen.join(' + ')} + VAE)`, value: `${modelGB.toFixed(1)} GB` });
      }
      try {
        if (wantT2i) {
          const spec: JobSpec = {
            mode: 'text2image', prompt: 'A medium shot of a modern robotics research laboratory with white walls and a gray floor.', negativePrompt: '',
            resolution: '720', aspectRatio: '16,9', width: size.t2i.width, height: size.t2i.height, numFrames: 1, fps: 24, seed: 0,
            numSteps: size.t2i.steps, guidance: 4, shift: 3,
          };
          // the first run at a new size also pays one-time costs (cuDNN algorithm search per conv shape): timed apart
          const c0 = performance.now();
          await model.pipelines.runPipeline({ ...spec, numSteps: 2 }, {}, model.networks, model.text, {});
          emit({ t2iFirstRunTwoStepsSeconds: s3((performance.now() - c0) / 1000), variant });
          const times: number[] = [];
          for (let i = 0; i < 2; i++) {
            const s = performance.now();
            const r = await model.pipelines.runPipeline(spec, {}, model.networks, model.text, {});
            times.push((performance.now() - s) / 1000);
            if (i === 1) emit({ t2iStages: r.timings, variant });
          }
          t2i[variant] = Math.min(...times);
          emit({ text2image: `${spec.width}x${spec.height}`, variant, steps: spec.numSteps, guidance: spec.guidance, seconds: s3(t2i[variant]) });
        }
        if (wantT2v) {
          // text2video as served, a few steps at each forward size: the CFG step (cond + uncond, host-side guidance
          // and scheduler included), the VAE decode of the whole clip, and the device-memory peak of the request.
          // The server decodes its default canvases once at start (warmVaeShapes); the benchmark warms the same way
          // at its own sizes (2 latent frames each), so no timed decode pays cuDNN's per-shape algorithm search.
          // Smallest size first: ONNX Runtime's arenas keep what they grew to, so each peak includes the earlier
          // requests' arenas.
          const sf = model.vaeSpatialFactor;
          await warmVaeShapes(model.networks.vae, device, sf, size.forwards.map(([, T, H, W]) => [Math.min(2, T), W * sf, H * sf] as const));
          const bySize = [...size.forwards].sort((a, b) => a[1] * a[2] * a[3] - b[1] * b[2] * b[3]);
          for (const [label, T, H, W] of bySize) {
            if (left() < 90) {
              emit({ text2video: label, skipped: `${left().toFixed(0)} s left` });
              continue;
            }
            try {
              t2v[label] = await timeText2video(model, label, T, H, W, mem, variant, modelGB);
            } catch (err) {
              emit({ text2video: label, failed: (err as Error).message.slice(0, 500) });
              rows.push({ metric: `text2video ${label} as served (failed)`, value: (err as Error).message.slice(0, 160) });
            }
          }
        }
        if (wantT2v && left() > 150) {
          // the decode of the big clip as the pipelines get it (RGB bytes), side by side: the rgb8 graph (the
          // conversion on the device, bytes across the binding) against the float32 Loop graph + signedToRgb on
          // the host (converter 0.5.0). The float32 graph opens here, after the served sessions' peaks
          const vae = model.networks.vae as OrtVae;
          const [label, T, H, W] = size.forwards[0];
          if (vae.rgb8) {
            const latent = { data: randn(vae.zDim * T * H * W, 11), shape: [1, vae.zDim, T, H, W] };
            const timeIt = async (fn: () => Promise<unknown>) => {
              const t0 = performance.now();
              await fn();
              return (performance.now() - t0) / 1000;
            };
            const graphS = await timeIt(() => vae.decodeFrames(latent));
            await vae.decode({ data: latent.data.slice(0, vae.zDim * H * W), shape: [1, vae.zDim, 1, H, W] }); // open + warm the float32 graph
            const hostS = await timeIt(async () => signedToRgb(await vae.decode(latent)));
            vaeBytes[label] = { graphS, hostS };
            emit({ vaeToBytes: label, rgb8GraphSeconds: s3(graphS), float32PlusHostSeconds: s3(hostS) });
          }
        }
        if (phases.has('forward') && variant !== 'single' && left() > 120) {
          // one pass through the served generator at the big size: with PAIRED_GUIDANCE the merged graph (its If
          // takes the single-pass body above the pairing bound), else the plain generator graph. Last in the
          // session: its activations would otherwise be in the text2video peaks (ORT's arenas keep what they grew to)
          const [label, T, H, W] = size.forwards[0];
          const r = await timeForward(model.networks.denoiser, T, H, W, runs, mem);
          servedForward[variant] = r.seconds;
          emit({ servedForward: label, variant, graphs: graphsOpen, visionTokens: r.tokens, seconds: s3(r.seconds) });
        }
      } finally {
        await model.release();
      }
    });
  }
  if (t2i.split !== undefined) {
    const { width, height, steps } = size.t2i;
    const others = [
      t2i.pair !== undefined ? `both guidance passes in one run ${t2i.pair.toFixed(2)} s: pair/split ${(t2i.pair / t2i.split).toFixed(3)}` : '',
      t2i.single !== undefined ? `single graph ${t2i.single.toFixed(2)} s: split/single ${(t2i.split / t2i.single).toFixed(3)}` : '',
    ].filter(Boolean);
    rows.push({
      metric: `text2image ${width}×${height}, ${steps} steps, CFG, as served (${width === 1280 && height === 720 ? "the seed's payload, resolution 720 and aspect 16,9; " : ''}text tower once per prompt; JPEG encode excluded)`,
      value: `${t2i.split.toFixed(2)} s${others.length ? ` (${others.join('; ')})` : ''}`,
      target: `≤ 2.6 s (vLLM-Omni ${PUBLISHED.t2i720_h100_s['vLLM-Omni']} s, PyTorch ${PUBLISHED.t2i720_h100_s.PyTorch} s)`,
    });
  }

  for (const [label, v] of Object.entries(vaeBytes)) {
    rows.push({
      metric: `VAE decode to RGB bytes at the ${label} size: rgb8 graph (converter 0.6.0, as served) / float32 graph + signedToRgb on the host`,
      value: `${v.graphS.toFixed(2)} s / ${v.hostS.toFixed(2)} s: ${(v.graphS / v.hostS).toFixed(3)}`,
    });
  }
  if (servedForward.pair !== undefined && servedForward.split !== undefined) {
    rows.push({
      metric: `one generator pass at the ${size.forwards[0][0]} size as served: transformer_gen_merged (PAIRED_GUIDANCE=1, through its If) / the plain generator graph`,
      value: `${servedForward.pair.toFixed(3)} s / ${servedForward.split.toFixed(3)} s: ${(servedForward.pair / servedForward.split).toFixed(3)}`,
    });
  }

  // the first forward size is the projection's (720p/189f at full size)
  const [bigLabel] = size.forwards[0];
  for (const [label] of size.forwards) {
    const f = fwd.fused[label];
    const v = t2v[label];
    if (!f && !v) continue;
    rows.push({
      metric: `denoiser at ${(f ?? v).tokens} vision tokens (${label}): one forward, fused single graph / one CFG step as served (cond + uncond, text tower once, guidance and scheduler on the host)`,
      value: `${f ? `${f.seconds.toFixed(3)} s` : '–'} / ${v ? `${v.stepSeconds.toFixed(3)} s` : '–'}${f && fwd.unfused[label] ? ` (elementwise graph ${fwd.unfused[label].seconds.toFixed(3)} s: fused/elementwise ${(f.seconds / fwd.unfused[label].seconds).toFixed(3)})` : ''}`,
      target: label === bigLabel && size.device === 'gpu' ? `forward ≤ ${(PUBLISHED.forward44k_floor_s * 1.1).toFixed(2)} s (floor ${PUBLISHED.forward44k_floor_s} s + 10%)` : undefined,
    });
    if (v) {
      rows.push({
        metric: `text2video ${label} as served: VAE decode of ${v.frames} frames; device memory peak during the request (model and the arenas earlier requests of this process grew included)`,
        value: `${v.vaeSeconds.toFixed(2)} s; ${v.peakGB.toFixed(1)} GB`,
        target: label === bigLabel ? `VAE ≤ 8 s (reference ${PUBLISHED.vae720_h200_ref.seconds} s, ${PUBLISHED.vae720_h200_ref.peakGB} GB); peak ≤ 60 GB` : undefined,
      });
    }
  }
  const big = t2v[bigLabel];
  if (big) {
    const encodeS = (big.frames || 189) / 89; // CPU MP4 encode at the measured 89 fps on 2 cores (bench/encode-mp4)
    const projected = 35 * big.stepSeconds + big.vaeSeconds + encodeS;
    emit({ projectedText2videoSeconds: +projected.toFixed(1), label: bigLabel, assumptions: '35 CFG steps as served (the steady step measured) + VAE decode as served + MP4 encode at 89 fps' });
    rows.push({ metric: `projected text2video ${bigLabel}, 35 steps, CFG 6 (measured steady step × 35 + VAE decode + MP4 encode)`, value: `${projected.toFixed(1)} s`, target: `≤ 200 s (published H100: ${Object.entries(PUBLISHED.t2v720_h100_s).map(([k, v]) => `${k} ${v} s`).join(', ')})` });
  }

  // ---- torch: the reference transformer's forward on the same GPU (before the profiles: the issue asks for it).
  // At the CPU sizes it runs only when TORCH_PYTHON is set, on the CPU in float32 (a check of the script itself)
  if (phases.has('torch') && size.device === 'gpu' && !process.env.TORCH_PYTHON) {
    emit({ torch: { skipped: 'TORCH_PYTHON is not set (PyTorch + the diffusers source were not found on this host)' } });
    rows.push({ metric: 'PyTorch reference forward (same GPU)', value: 'not run: TORCH_PYTHON unset (no PyTorch + diffusers on this host)', target: 'ORT ≤ PyTorch' });
  } else if (phases.has('torch') && process.env.TORCH_PYTHON && left() < 150) {
    rows.push({ metric: `PyTorch reference forward (${size.device === 'gpu' ? 'same GPU' : 'CPU, float32'})`, value: `not run: ${left().toFixed(0)} s left before the deadline`, target: 'ORT ≤ PyTorch' });
    emit({ torch: { skipped: `only ${left().toFixed(0)} s left before the deadline` } });
  } else if (phases.has('torch') && process.env.TORCH_PYTHON) {
    const where = size.device === 'gpu' ? 'same GPU' : 'CPU, float32';
    // beside the bundle on the GPU host (TORCH_SCRIPT), beside this file when run from source, bench/gpu/ from dist/
    const here = path.dirname(fileURLToPath(import.meta.url));
    const script = process.env.TORCH_SCRIPT ?? [path.join(here, 'torch_forward.py'), path.join(here, '../../../bench/gpu/torch_forward.py')].find((f) => existsSync(f)) ?? 'torch_forward.py';
    const cfgFile = path.join(values.dir!, 'transformer-config.json');
    await writeFile(cfgFile, JSON.stringify(size.transformer));
    // the forward sizes and the parity forward's (a 720p image: text2image's 920 tokens), each once
    const shapes = [...new Set([...size.forwards.map(([, T, H, W]) => `${T},${H},${W}`), PARITY_SHAPE.join(',')])].map((k) => k.split(',').map(Number));
    try {
      const out = execFileSync(process.env.TORCH_PYTHON, [script, cfgFile, JSON.stringify(shapes), String(TEXT_LEN)],
        {
          encoding: 'utf8', timeout: Math.floor(Math.min(300_000, Math.max(60_000, (left() - 10) * 1000))), stdio: ['ignore', 'pipe', 'inherit'],
          env: {
            ...process.env,
            ...(size.device === 'cpu' ? { TORCH_DEVICE: 'cpu', TORCH_DTYPE: 'float32' } : {}),
            ...(existsSync(checkpointFile) ? { TORCH_CKPT: checkpointFile } : {}),
            ...(existsSync(parityFile) ? { TORCH_PARITY: parityFile } : {}),
          },
        });
      let backend = '?';
      for (const line of out.trim().split('\n').filter((l) => l.startsWith('{'))) {
        const o = JSON.parse(line) as {
          vision_tokens?: number; forward_s?: number; error?: string; attention_backend?: string;
          parity?: { vision_tokens: number; run_dtype: string; ort_vs_reference_fp32: number; pytorch_vs_reference_fp32: number; ort_vs_pytorch: number };
        };
        emit({ torch: o });
        if (o.parity) {
          const p = o.parity;
          rows.push({
            metric: `same weights and inputs, ${p.vision_tokens} vision tokens: rel L2 from the reference in float32 (PyTorch, ${where}), ONNX Runtime ${size.dtype} / PyTorch ${p.run_dtype}`,
            value: `${p.ort_vs_reference_fp32.toExponential(2)} / ${p.pytorch_vs_reference_fp32.toExponential(2)} (ORT vs PyTorch ${p.ort_vs_pytorch.toExponential(2)})`,
            target: 'ORT no further from float32 than PyTorch',
          });
        }
        if (o.attention_backend) backend = o.attention_backend;
        if (o.error) rows.push({ metric: `PyTorch reference forward (${where})`, value: `failed: ${o.error.slice(0, 160)}`, target: 'ORT ≤ PyTorch' });
        if (o.vision_tokens && o.forward_s) {
          const ours = Object.values(fwd.fused).find((f) => f.tokens === o.vision_tokens);
          rows.push({ metric: `PyTorch reference forward, ${o.vision_tokens} vision tokens (${where}, attention backend ${backend})`, value: `${o.forward_s.toFixed(3)} s${ours ? ` — ORT/PyTorch ${(ours.seconds / o.forward_s).toFixed(2)}` : ''}`, target: 'ORT ≤ PyTorch' });
        }
      }
    } catch (err) {
      // a crash or a timeout: keep what it printed before, and say so in the table
      const e = err as Error & { stdout?: string };
      for (const line of (e.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{'))) emit({ torch: JSON.parse(line) as unknown });
      emit({ torch: { error: e.message.slice(0, 300) } });
      rows.push({ metric: `PyTorch reference forward (${where})`, value: `failed: ${e.message.split('\n')[0].slice(0, 160)}`, target: 'ORT ≤ PyTorch' });
    }
  }

  // ---- profile: where a forward's time goes, per op type. In this process launches are asynchronous, so a
  // node's time on the CUDA EP is its host-side cost (what bounds a launch-bound 920-token forward); the
  // 'kernels' phase repeats the big shapes in a child process with synchronous launches (GPU time per node).
  const report = (what: string, p: ProfiledRun, kernelTime = false) => {
    const sum = profileSummary(p);
    if (!kernelTime) emit({ profile: what, ...sum });
    const label = kernelTime ? `kernel time per op (synchronous launches): ${what}` : `ORT profile (host side): ${what}`;
    rows.push({ metric: label, value: `run ${sum.runMs} ms, ${sum.nodes} nodes, ${sum.nodeMs} ms node time; top: ${sum.byOp.slice(0, 5).map((o) => `${o.op} ${o.ms} ms`).join(', ')}` });
  };
  if (phases.has('profile')) await guarded('profile', async () => {
    if (left() < 60) throw new Error(`skipped: ${left().toFixed(0)} s left`);
    const [single] = await profileSingleGraph(modelDir, manifest, device, path.join(values.dir!, 'ort-profile'), [['text2image 720p', 1, 45, 80, 3]]);
    report(single.what, single.run);

    // the generator graph the server runs for text2image (text K/V from transformer_text, computed once)
    const genName = manifest.graphs.transformer_gen_action ? 'transformer_gen_action' : 'transformer_gen';
    const { tokens: t2iTokens, inputs: t2iIn } = forwardInputs(1, 45, 80);
    const text = await OrtSession.create(path.join(modelDir, manifest.graphs.transformer_text.file), { device });
    let kv: Awaited<ReturnType<OrtSession['run']>>;
    try {
      const textPositions = { data: leadingColumns(t2iIn.positions, TEXT_LEN), shape: [3, TEXT_LEN] };
      kv = await text.run({ input_ids: { data: t2iIn.inputIds, shape: [TEXT_LEN] }, positions: textPositions });
    } finally {
      await text.release();
    }
    const gprefix = path.join(values.dir!, 'ort-profile-gen');
    const gen = await OrtSession.create(path.join(modelDir, manifest.graphs[genName].file), { device, profilePrefix: gprefix });
    try {
      // as OrtDenoiser feeds it: zero action rows through the action graph
      const da = manifest.graphs[genName].inputs.find((i) => i.name === 'action_tokens')?.dims[1];
      const feeds = { ...kv, ...generatorFeeds(t2iIn, typeof da === 'number' ? da : undefined) };
      for (let i = 0; i < 4; i++) await gen.run(feeds);
      gen.endProfiling();
    } finally {
      await gen.release();
    }
    report(`${genName}, text2image 720p (${t2iTokens} vision tokens, text K/V fed), as served`, meanRun((await profiledRuns(await findProfile(gprefix))).slice(1)));
  });

  // ---- kernels: GPU time per op type and the attention kernels ONNX Runtime picks, from a child process
  // (CUDA_LAUNCH_BLOCKING is read when CUDA starts, so it cannot be turned on in this process)
  if (phases.has('kernels')) await guarded('kernels', async () => {
    if (left() < 90) throw new Error(`skipped: ${left().toFixed(0)} s left`);
    const child = spawnSync(process.execPath, [
      process.argv[1], '--size', sizeName, '--device', device, '--dir', values.dir!, '--model-dir', modelDir, '--phases', KERNEL_TIME_CHILD,
    ], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 2 ** 20,
      timeout: Math.floor(Math.min(240, left() - 20) * 1000),
      env: { ...process.env, CUDA_LAUNCH_BLOCKING: '1', ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO: '1' },
    });
    const { profiles, attention } = parseKernelChild(child.stdout ?? '');
    for (const p of profiles) {
      emit({ profile: p.profile, kernelTime: true, runMs: p.runMs, nodes: p.nodes, nodeMs: p.nodeMs, byOp: p.byOp });
      report(p.profile, { ms: p.runMs, nodes: p.nodes, nodeMs: p.nodeMs, byOp: p.byOp }, true);
    }
    if (attention.length > 0) {
      emit({ attentionKernels: attention });
      rows.push({ metric: 'attention kernels ONNX Runtime chose (ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO)', value: attention.map((a) => `${a.kernel}: ${a.calls}`).join('; ') });
    }
    if (child.status !== 0 || profiles.length === 0) {
      throw new Error(`GPU-time child process ${child.error ? child.error.message : `exited ${child.status ?? child.signal}`} after ${profiles.length} profiles`);
    }
  });

  mem.stop();
  process.stdout.write(`\n| metric | measured (${gpuName.split(',')[0]}) | target / published |\n|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.metric} | ${r.value} | ${r.target ?? ''} |\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
