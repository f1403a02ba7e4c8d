/**
 * Profiles of bench:gpu's big shapes with every CUDA launch synchronous. ONNX Runtime's profile times each
 * node on the host; with asynchronous launches (the served configuration) that is the launch cost, not the
 * kernel's. The 'kernels' phase therefore re-runs these profiles in a child process started with
 * CUDA_LAUNCH_BLOCKING=1 (read once, when CUDA starts), where a node's time is its kernels' GPU time plus
 * launch overhead, and with ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1, which makes the CUDA attention kernels
 * print which implementation they chose on every call.
 */
import path from 'node:path';
import type { Manifest } from '../../src/convert/index.js';
import { generatorFeeds } from '../../src/engine/ort-denoiser.js';
import { OrtSession, type DeviceSpec } from '../../src/engine/ort/index.js';
import { forwardInputs, randn, TEXT_LEN } from './inputs.js';
import { findProfile, meanRun, profiledRuns, type OpTime, type ProfiledRun } from './profile.js';
import type { BenchSize } from './real-config.js';

/** The --phases value that makes bench:gpu the child process of its own 'kernels' phase. */
export const KERNEL_TIME_CHILD = 'kernels-child';

export interface NamedProfile {
  readonly what: string;
  readonly run: ProfiledRun;
}

/**
 * Profiles the fused single graph over `shapes` ([label, T, H, W, measured runs]) in one session: each shape's
 * first run warms up (kernel and algorithm choice per shape), the mean of the rest is returned.
 */
export async function profileSingleGraph(
  modelDir: string, manifest: Manifest, device: DeviceSpec, prefix: string,
  shapes: readonly (readonly [string, number, number, number, number])[],
): Promise<NamedProfile[]> {
  const session = await OrtSession.create(path.join(modelDir, manifest.graphs.transformer.file), { device, profilePrefix: prefix });
  const plan: { label: string; tokens: number; measured: boolean }[] = [];
  try {
    for (const [label, T, H, W, n] of shapes) {
      const { tokens, inputs } = forwardInputs(T, H, W);
      const feeds = { input_ids: { data: inputs.inputIds, shape: [TEXT_LEN] }, ...generatorFeeds(inputs) };
      for (let i = 0; i <= n; i++) {
        await session.run(feeds);
        plan.push({ label, tokens, measured: i > 0 });
      }
    }
    session.endProfiling();
  } finally {
    await session.release();
  }
  const runs = await profiledRuns(await findProfile(prefix));
  if (runs.length !== plan.length) throw new Error(`profile holds ${runs.length} runs, expected ${plan.length}`);
  return shapes.map(([label]) => {
    const tokens = plan.find((x) => x.label === label)!.tokens;
    return {
      what: `transformer, ${label} (${tokens} vision tokens), fused single graph`,
      run: meanRun(runs.filter((_, i) => plan[i].label === label && plan[i].measured)),
    };
  });
}

/** The VAE decoder Loop graph the server runs (RGB bytes out) on 3 latent frames (9 video frames) at the decode benchmark's size. */
async function profileVaeLoop(modelDir: string, manifest: Manifest, device: DeviceSpec, prefix: string, H: number, W: number): Promise<NamedProfile> {
  const graph = manifest.graphs.vae_decoder_loop_rgb8 ?? manifest.graphs.vae_decoder_loop;
  const vae = await OrtSession.create(path.join(modelDir, graph.file), { device, profilePrefix: prefix });
  try {
    const latent = { data: randn(48 * 3 * H * W, 5), shape: [1, 48, 3, H, W] };
    for (let i = 0; i < 2; i++) await vae.run({ latent });
    vae.endProfiling();
  } finally {
    await vae.release();
  }
  const runs = await profiledRuns(await findProfile(prefix));
  return { what: `VAE decoder loop${manifest.graphs.vae_decoder_loop_rgb8 ? ' (RGB bytes out)' : ''}, 3 latent frames ${W * 16}×${H * 16}`, run: runs[runs.length - 1] };
}

/** What the child process measures: the single graph at the big forward and at text2image 720p, and the VAE Loop. */
export async function kernelTimeProfiles(modelDir: string, manifest: Manifest, size: BenchSize, device: DeviceSpec, dir: string): Promise<NamedProfile[]> {
  const [bigLabel, T, H, W] = size.forwards[0];
  const shapes: [string, number, number, number, number][] = [['text2image 720p', 1, 45, 80, 2]];
  if (T * H * W !== 45 * 80) shapes.push([bigLabel, T, H, W, 1]);
  const single = await profileSingleGraph(modelDir, manifest, device, path.join(dir, 'ort-kernels'), shapes);
  const [, vh, vw] = size.vaeDecode;
  return [...single, await profileVaeLoop(modelDir, manifest, device, path.join(dir, 'ort-kernels-vae'), vh, vw)];
}

export interface ChildProfile {
  readonly profile: string;
  readonly runMs: number;
  readonly nodes: number;
  readonly nodeMs: number;
  readonly byOp: readonly OpTime[];
}

/**
 * The child's stdout: its JSON profile lines, and the attention kernels' debug lines
 * ("Operator=MultiHeadAttention Node=… DataType=bf16 SdpaKernel=CUDNN_FLASH_ATTENTION", in terminal colours)
 * counted per operator, data type and kernel.
 */
export function parseKernelChild(stdout: string): { profiles: ChildProfile[]; attention: { kernel: string; calls: number }[] } {
  const profiles: ChildProfile[] = [];
  const calls = new Map<string, number>();
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '').trim();
    if (line.startsWith('{')) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // a line cut by the process's end
      }
      if (typeof o.profile === 'string' && o.kernelTime === true) profiles.push(o as unknown as ChildProfile);
    } else if (line.includes('SdpaKernel=')) {
      const field = (k: string) => line.match(new RegExp(`${k}=(\\S+)`))?.[1] ?? '?';
      const key = `${field('Operator')} ${field('DataType')} ${field('SdpaKernel')}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
    }
  }
  return { profiles, attention: [...calls].map(([kernel, n]) => ({ kernel, calls: n })).sort((a, b) => b.calls - a.calls) };
}
