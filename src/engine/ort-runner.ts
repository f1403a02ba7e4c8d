import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readManifest, SchedulerConfigSchema, TransformerConfigSchema, VaeConfigSchema, readConfig } from '../convert/index.js';
import {
  createChatTokenizer, createPipelines, createPromptEncoder, DEFAULT_TEXT_SETTINGS, modelFactsFromConfigs,
  type Networks, type Pipelines, type PromptEncoder, type TextSettings,
} from '../pipeline/index.js';
import type { VaeCodec } from '../pipeline/networks.js';
import { ModelManifestError, type JobSpec } from '../shared/index.js';
import { OrtDenoiser } from './ort-denoiser.js';
import { OrtVae } from './ort-vae.js';
import type { DeviceSpec } from './ort/index.js';
import type { CreateRunner, JobRunner } from './runner.js';

/** A small request that touches every graph a text-to-image job needs, run once before `ready`. */
export const WARMUP_SPEC: JobSpec = {
  mode: 'text2image', prompt: 'warm-up', negativePrompt: '', resolution: '256', aspectRatio: '1,1', width: 256, height: 256,
  numFrames: 1, fps: 24, seed: 0, numSteps: 2, guidance: 4, shift: 3,
};

/**
 * VAE decodes run once at start-up on a GPU, as [latent frames, width, height]: the default text2image canvas
 * (720p 1:1) and the default video canvas (720p 16:9; two latent frames, so both the first-chunk and the
 * step-chunk convolutions run). ONNX Runtime's CUDA EP picks each convolution's cuDNN algorithm by
 * benchmarking the candidates the first time it sees an input shape (exhaustive search; the node binding
 * cannot switch it to heuristics), which would otherwise land on the first request at each size.
 */
export const GPU_WARMUP_DECODES: readonly (readonly [number, number, number])[] = [[1, 960, 960], [2, 1280, 720]];

/**
 * VAE decodes of zeros at `decodes` ([latent frames, width, height]; default: the start-up ones) for `device`,
 * none on the CPU, which has no per-shape search. Returns how many ran.
 */
export async function warmVaeShapes(
  vae: VaeCodec, device: DeviceSpec, spatialFactor: number, decodes: readonly (readonly [number, number, number])[] = GPU_WARMUP_DECODES,
): Promise<number> {
  if (device === 'cpu') return 0;
  const z = vae.latentsMean.length;
  for (const [t, w, h] of decodes) {
    const shape = [1, z, t, Math.ceil(h / spatialFactor), Math.ceil(w / spatialFactor)];
    const latent = { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape };
    await (vae.decodeFrames ? vae.decodeFrames(latent) : vae.decode(latent)); // the graph the pipelines run
  }
  return decodes.length;
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

function textSettingsFrom(options: Readonly<Record<string, unknown>> | undefined): TextSettings {
  const t = (options?.text ?? {}) as Partial<TextSettings>;
  return { ...DEFAULT_TEXT_SETTINGS, ...t };
}

/** A converted model opened on one device: networks, pipelines and the prompt encoder. */
export interface OrtModel {
  readonly networks: Networks;
  readonly pipelines: Pipelines;
  readonly text: PromptEncoder;
  /** Pixels per latent cell (vae/config.json `scale_factor_spatial`). */
  readonly vaeSpatialFactor: number;
  release(): Promise<void>;
}

/** Open the converted model folder (manifest.json, graphs, configs, tokenizer) with sessions on `device`. */
export async function openOrtModel(modelDir: string, device: DeviceSpec, options?: Readonly<Record<string, unknown>>): Promise<OrtModel> {
  const manifest = await readManifest(modelDir);
  if (device === 'cpu' && manifest.dtype === 'bfloat16') {
    // ONNX Runtime's CPU provider has no bfloat16 Gemm: without this the worker dies on an opaque kernel error
    throw new ModelManifestError(modelDir, 'is a bfloat16 model, which the CPU provider cannot run: serve it on a GPU (DEVICES=cuda:0), or convert the checkpoint with --dtype fp32 (or fp16) for DEVICES=cpu');
  }
  const tcfg = await readConfig(path.join(modelDir, 'transformer', 'config.json'), TransformerConfigSchema);
  const vcfg = await readConfig(path.join(modelDir, 'vae', 'config.json'), VaeConfigSchema);
  const scfg = await readConfig(path.join(modelDir, 'scheduler', 'scheduler_config.json'), SchedulerConfigSchema);
  const modelIndex = await readJson<{ use_native_flow_schedule?: boolean }>(path.join(modelDir, 'model_index.json')).catch(() => ({}));
  const facts = modelFactsFromConfigs({
    transformer: {
      action_dim: tcfg.action_dim ?? 0,
      latent_patch_size: tcfg.latent_patch_size,
      base_fps: tcfg.base_fps,
      unified_3d_mrope_temporal_modality_margin: tcfg.unified_3d_mrope_temporal_modality_margin,
      sound_latent_fps: tcfg.sound_latent_fps ?? 25,
    },
    vae: { z_dim: vcfg.z_dim, scale_factor_temporal: vcfg.scale_factor_temporal, scale_factor_spatial: vcfg.scale_factor_spatial },
    scheduler: scfg,
    modelIndex,
  });
  const tok = path.join(modelDir, 'text_tokenizer');
  const chatTemplate = await readFile(path.join(tok, 'chat_template.jinja'), 'utf8').catch(() => undefined);
  const tokenizer = createChatTokenizer({
    tokenizerJson: await readFile(path.join(tok, 'tokenizer.json'), 'utf8'),
    tokenizerConfigJson: await readFile(path.join(tok, 'tokenizer_config.json'), 'utf8'),
    ...(chatTemplate !== undefined ? { chatTemplate } : {}),
  });
  const text = createPromptEncoder(tokenizer, textSettingsFrom(options));
  const pipelines = createPipelines(facts);
  const threads = typeof options?.threads === 'number' ? options.threads : undefined;
  // pairedGuidance: true opens transformer_gen_merged in place of the plain generator (PAIRED_GUIDANCE);
  // splitTransformer: false keeps the single graphs (for comparison)
  const denoiser = await OrtDenoiser.open(modelDir, manifest, {
    device, threads, split: options?.splitTransformer !== false, pair: options?.pairedGuidance === true, patchSize: tcfg.latent_patch_size,
  });
  let vae: OrtVae;
  try {
    const chunk = (k: string) => (typeof options?.[k] === 'number' ? (options[k] as number) : undefined);
    vae = await OrtVae.open(modelDir, manifest, { device, threads, decodeChunk: chunk('vaeDecodeChunk'), encodeChunk: chunk('vaeEncodeChunk') });
  } catch (err) {
    await denoiser.release();
    throw err;
  }
  return {
    networks: { denoiser, vae },
    pipelines,
    text,
    vaeSpatialFactor: facts.vaeSpatialFactor,
    async release() {
      await denoiser.release();
      await vae.release();
    },
  };
}

/**
 * The production runner: the converted model behind the six mode pipelines, with ONNX Runtime sessions on
 * one device. The worker thread owns it.
 */
export const createRunner: CreateRunner = async ({ modelDir, device, options }) => {
  const model = await openOrtModel(modelDir, device as DeviceSpec, options);
  const { pipelines, networks, text } = model;
  const runner: JobRunner = {
    run(spec, input, hooks) {
      return pipelines.runPipeline(spec, input, networks, text, {
        signal: hooks.signal,
        onProgress: (p) => hooks.onProgress(p),
        ...(hooks.timings ? { timings: hooks.timings } : {}),
      });
    },
    async warmup() {
      await pipelines.runPipeline(WARMUP_SPEC, {}, networks, text, {});
      await warmVaeShapes(networks.vae, device as DeviceSpec, model.vaeSpatialFactor);
    },
    close: () => model.release(),
  };
  return runner;
};
