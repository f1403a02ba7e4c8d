import path from 'node:path';
import { ModelManifestError, type HostTensor, type RgbFrames, type TensorData } from '../shared/index.js';
import { readConfig, VaeConfigSchema, vaeDims, type Manifest, type ManifestGraph, type VaeGraphName } from '../convert/index.js';
import { rgbToSigned, signedToRgb } from '../pipeline/latents/index.js';
import type { VaeCallOptions, VaeCodec } from '../pipeline/networks.js';
import { OrtSession, type DeviceSpec } from './ort/index.js';

/**
 * The Wan2.2 VAE over the converted graphs (docs/graphs.md, "VAE graphs"). Encoding runs pixel frame 0, then
 * chunks of 4 frames; decoding runs one latent frame at a time, the causal caches carried from chunk to chunk.
 * With the Loop graphs (`vae_encoder_loop`, `vae_decoder_loop`; converter 0.2.0 on) that is one session run per
 * call: the caches stay inside the run (on the device), none crosses the graph boundary. Models converted
 * before only have the chunk graphs (`vae_*_first`, `vae_*_step`): then each chunk is a run that hands its
 * `cache_out.*` tensors to the next as `cache_in.*` through the host (chunk lengths can be raised there).
 * Either way memory is bounded by one chunk and its caches, not by the video; only the output accumulates.
 * The pipelines call encodeFrames/decodeFrames: with the `*_loop_rgb8` graphs (converter 0.6.0 on) the frames
 * cross the binding as RGB bytes and the conversion to and from [-1, 1] runs in the graph; otherwise on the host.
 */

type Feeds = Record<string, HostTensor<TensorData>>;

export interface OrtVaeOptions {
  readonly device: DeviceSpec;
  readonly threads?: number;
  /**
   * Latent frames per step run after the first (default 1, the reference's chunk). Larger chunks give the
   * same result with fewer runs (fewer cache round trips through the host) for proportionally more memory.
   */
  readonly decodeChunk?: number;
  /** Latent frames (of 4 pixel frames each) per encoder step run after frame 0 (default 1). */
  readonly encodeChunk?: number;
  /**
   * 'loop' (default when the manifest has the Loop graphs): one run per call. 'chunked': one run per chunk
   * over the chunk graphs (the only way for models converted before 0.2.0; tests and benchmarks). The chunk
   * sizes above apply to 'chunked' only; the Loop graphs run the reference's chunks.
   */
  readonly graphs?: VaeGraphs;
  /**
   * encodeFrames/decodeFrames through the `*_loop_rgb8` graphs (default: with the Loop graphs, when the manifest
   * has them); false converts on the host and runs the float32 graphs (tests, benchmarks).
   */
  readonly rgb8?: boolean;
}

export type VaeGraphs = 'loop' | 'chunked';

/** What the last encode/decode did (tests and benchmarks). */
export interface VaeRunStats {
  readonly graphs: VaeGraphs;
  /** Session runs. */
  readonly runs: number;
  /** Causal chunks (inside the one run with the Loop graphs). */
  readonly chunks: number;
  /** Largest total size of the caches carried between two runs through the host, in bytes (0 with the Loop graphs). */
  readonly peakCacheBytes: number;
}

const LOOP_GRAPHS = ['vae_encoder_loop', 'vae_decoder_loop'] as const;
const RGB8_GRAPHS = ['vae_encoder_loop_rgb8', 'vae_decoder_loop_rgb8'] as const;
const CHUNK_GRAPHS = ['vae_encoder_first', 'vae_encoder_step', 'vae_decoder_first', 'vae_decoder_step'] as const;
const CACHE_IN = 'cache_in.';
const CACHE_OUT = 'cache_out.';

function graphOf(manifest: Manifest, name: VaeGraphName): ManifestGraph {
  const g = manifest.graphs[name];
  if (!g) throw new ModelManifestError(name, 'graph is missing from manifest.json (convert the checkpoint again)');
  return g;
}

/** The Loop graphs when asked for or, by default, when the manifest has them. */
function graphsFor(manifest: Manifest, opts: OrtVaeOptions): VaeGraphs {
  return opts.graphs ?? (LOOP_GRAPHS.every((n) => manifest.graphs[n]) ? 'loop' : 'chunked');
}

/** The cache names a 'first' graph writes must be the ones its 'step' graph reads. */
function checkCachePair(manifest: Manifest, first: VaeGraphName, step: VaeGraphName): void {
  const outs = graphOf(manifest, first).outputs.filter((o) => o.name.startsWith(CACHE_OUT)).map((o) => o.name.slice(CACHE_OUT.length)).sort();
  const ins = graphOf(manifest, step).inputs.filter((i) => i.name.startsWith(CACHE_IN)).map((i) => i.name.slice(CACHE_IN.length)).sort();
  if (outs.join('|') !== ins.join('|')) throw new ModelManifestError(step, `cache inputs do not match the cache outputs of ${first}`);
}

/** frames [f0, f0+n) of a [1, C, F, H, W] tensor. */
function sliceFrames(x: HostTensor, f0: number, n: number): HostTensor {
  const [, C, F, H, W] = x.shape;
  const plane = H * W;
  const out = new Float32Array(C * n * plane);
  for (let c = 0; c < C; c++) out.set(x.data.subarray((c * F + f0) * plane, (c * F + f0 + n) * plane), c * n * plane);
  return { data: out, shape: [1, C, n, H, W] };
}

/** Write a [1, C, n, H, W] chunk at frame f0 of a [1, C, F, H, W] buffer. */
function placeFrames(dst: Float32Array, F: number, chunk: HostTensor, f0: number): void {
  const [, C, n, H, W] = chunk.shape;
  const plane = H * W;
  for (let c = 0; c < C; c++) dst.set(chunk.data.subarray(c * n * plane, (c + 1) * n * plane), (c * F + f0) * plane);
}

/** Latent-frame spans [start, count]: frame 0 alone, then runs of up to k frames. */
function chunkSpans(T: number, k: number): [number, number][] {
  const spans: [number, number][] = [[0, 1]];
  for (let t = 1; t < T; t += k) spans.push([t, Math.min(k, T - t)]);
  return spans;
}

export class OrtVae implements VaeCodec {
  readonly latentsMean: Float32Array;
  readonly latentsStd: Float32Array;
  readonly zDim: number;
  /** Pixels per latent along H and W (16). */
  readonly spatialFactor: number;
  /** Pixel frames per later latent frame (4). */
  readonly temporalFactor: number;
  readonly #modelDir: string;
  readonly #manifest: Manifest;
  readonly #opts: OrtVaeOptions;
  readonly #sessions = new Map<VaeGraphName, OrtSession>();
  #stats: VaeRunStats;
  /** Which graphs encode and decode run. */
  readonly graphs: VaeGraphs;
  /** Whether encodeFrames/decodeFrames run the `*_loop_rgb8` graphs (else: host conversion + encode/decode). */
  readonly rgb8: boolean;

  private constructor(modelDir: string, manifest: Manifest, opts: OrtVaeOptions, cfg: { mean: number[]; std: number[]; z: number; sf: number; tf: number }) {
    this.graphs = graphsFor(manifest, opts);
    this.rgb8 = this.graphs === 'loop' && (opts.rgb8 ?? RGB8_GRAPHS.every((n) => manifest.graphs[n]));
    this.#stats = { graphs: this.graphs, runs: 0, chunks: 0, peakCacheBytes: 0 };
    this.#modelDir = modelDir;
    this.#manifest = manifest;
    this.#opts = opts;
    this.latentsMean = Float32Array.from(cfg.mean);
    this.latentsStd = Float32Array.from(cfg.std);
    this.zDim = cfg.z;
    this.spatialFactor = cfg.sf;
    this.temporalFactor = cfg.tf;
  }

  /**
   * Open the two Loop graphs the pipelines run (the rgb8 pair, else the float32 pair), or the four chunk graphs;
   * the others open on first use.
   */
  static async open(modelDir: string, manifest: Manifest, opts: OrtVaeOptions): Promise<OrtVae> {
    const cfgFile = path.join(modelDir, 'vae', 'config.json');
    const cfg = await readConfig(cfgFile, VaeConfigSchema);
    const dims = vaeDims(cfg, cfgFile);
    const loop = graphsFor(manifest, opts) === 'loop';
    if (loop) {
      for (const name of opts.rgb8 ? RGB8_GRAPHS : LOOP_GRAPHS) graphOf(manifest, name);
    } else {
      if (opts.rgb8) throw new RangeError('OrtVae: rgb8 needs the Loop graphs');
      checkCachePair(manifest, 'vae_encoder_first', 'vae_encoder_step');
      checkCachePair(manifest, 'vae_decoder_first', 'vae_decoder_step');
    }
    for (const k of [opts.decodeChunk, opts.encodeChunk]) {
      if (k !== undefined && (!Number.isInteger(k) || k < 1)) throw new RangeError(`OrtVae: chunk sizes must be positive integers, got ${k}`);
    }
    const vae = new OrtVae(modelDir, manifest, opts, { mean: cfg.latents_mean, std: cfg.latents_std, z: cfg.z_dim, sf: dims.spatialFactor, tf: dims.temporalFactor });
    try {
      for (const name of !loop ? CHUNK_GRAPHS : vae.rgb8 ? RGB8_GRAPHS : LOOP_GRAPHS) await vae.#session(name);
    } catch (err) {
      await vae.release();
      throw err;
    }
    return vae;
  }

  get lastRun(): VaeRunStats {
    return this.#stats;
  }

  async #session(name: VaeGraphName): Promise<OrtSession> {
    let s = this.#sessions.get(name);
    if (!s) {
      s = await OrtSession.create(path.join(this.#modelDir, graphOf(this.#manifest, name).file), this.#opts);
      this.#sessions.set(name, s);
    }
    return s;
  }

  #checkPixels(pixels: HostTensor): number {
    const [b, c, F, H, W] = pixels.shape;
    if (pixels.shape.length !== 5 || b !== 1 || c !== 3) throw new RangeError(`pixels: expected [1, 3, F, H, W], got [${pixels.shape.join(', ')}]`);
    return this.#latentFrames(F, H, W);
  }

  /** Latent frames of an F×H×W video; throws unless F = 4k+1 and H, W are positive multiples of 16. */
  #latentFrames(F: number, H: number, W: number): number {
    const tf = this.temporalFactor;
    if (F < 1 || (F - 1) % tf !== 0) throw new RangeError(`pixels: F = ${F} frames; the VAE encodes F = ${tf}k+1 frames (1, ${tf + 1}, ${2 * tf + 1}, ...)`);
    const sf = this.spatialFactor;
    if (H % sf !== 0 || W % sf !== 0 || H === 0 || W === 0) throw new RangeError(`pixels: ${H}x${W} is not a positive multiple of ${sf}`);
    return 1 + (F - 1) / tf;
  }

  #checkLatent(latent: HostTensor): void {
    const [b, z, T, h, w] = latent.shape;
    if (latent.shape.length !== 5 || b !== 1 || z !== this.zDim || T < 1 || h < 1 || w < 1) {
      throw new RangeError(`latent: expected [1, ${this.zDim}, T ≥ 1, h, w], got [${latent.shape.join(', ')}]`);
    }
  }

  /**
   * Run `first` on chunk 0 and `step` on the others, carrying the caches; `chunk(i)` gives chunk i's input,
   * `place(i, out)` receives its main output. Only one chunk's caches are alive at a time.
   */
  async #chunked(first: VaeGraphName, step: VaeGraphName, input: string, output: string, chunks: number,
    chunk: (i: number) => HostTensor, place: (i: number, out: HostTensor) => void | Promise<void>, signal?: AbortSignal): Promise<void> {
    const s0 = await this.#session(first);
    const s1 = chunks > 1 ? await this.#session(step) : s0;
    let caches: Feeds = {};
    let peak = 0;
    for (let i = 0; i < chunks; i++) {
      signal?.throwIfAborted(); // between runs: the run in progress cannot be stopped
      const out = await (i === 0 ? s0 : s1).run({ [input]: chunk(i), ...caches });
      await place(i, out[output] as HostTensor);
      const next: Feeds = {};
      let bytes = 0;
      for (const [name, t] of Object.entries(out)) {
        if (!name.startsWith(CACHE_OUT)) continue;
        next[CACHE_IN + name.slice(CACHE_OUT.length)] = t;
        bytes += t.data.byteLength;
      }
      caches = next; // the previous chunk's caches are dropped here
      peak = Math.max(peak, bytes);
    }
    this.#stats = { graphs: 'chunked', runs: chunks, chunks, peakCacheBytes: peak };
  }

  /** One run of a Loop graph over the whole sequence (`chunks` causal chunks inside). */
  async #loop<T extends TensorData = Float32Array>(name: (typeof LOOP_GRAPHS | typeof RGB8_GRAPHS)[number], input: string, x: HostTensor<TensorData>, output: string, chunks: number,
    signal?: AbortSignal): Promise<HostTensor<T>> {
    signal?.throwIfAborted();
    const out = await (await this.#session(name)).run({ [input]: x });
    this.#stats = { graphs: 'loop', runs: 1, chunks, peakCacheBytes: 0 };
    return out[output] as HostTensor<T>;
  }

  /** RGB frames → raw posterior mean, as encode(rgbToSigned(frames)); the conversion runs in the rgb8 graph. */
  async encodeFrames(frames: RgbFrames, options: VaeCallOptions = {}): Promise<HostTensor> {
    const { frames: F, height: H, width: W, data } = frames;
    if (data.length !== F * H * W * 3) throw new RangeError(`frames: ${data.length} bytes for ${F}×${H}×${W}×3`);
    if (!this.rgb8) return this.encode(rgbToSigned(frames), options);
    const T = this.#latentFrames(F, H, W);
    return this.#loop('vae_encoder_loop_rgb8', 'frames', { data, shape: [F, H, W, 3] }, 'mu', T, options.signal);
  }

  /** Raw latent → RGB frames, as signedToRgb(decode(latent)); the conversion runs in the rgb8 graph. */
  async decodeFrames(latent: HostTensor, options: VaeCallOptions = {}): Promise<RgbFrames> {
    if (!this.rgb8) return signedToRgb(await this.decode(latent, options));
    this.#checkLatent(latent);
    const out = await this.#loop<Uint8Array>('vae_decoder_loop_rgb8', 'latent', latent, 'frames', latent.shape[2], options.signal);
    const [frames, height, width] = out.shape;
    return { data: out.data, frames, height, width };
  }

  /** pixels [1, 3, F, H, W] in [-1, 1], F = 4k+1 → raw posterior mean [1, z, k+1, H/16, W/16]. */
  async encode(pixels: HostTensor, options: VaeCallOptions = {}): Promise<HostTensor> {
    const T = this.#checkPixels(pixels);
    if (this.graphs === 'loop') return this.#loop('vae_encoder_loop', 'pixels', pixels, 'mu', T, options.signal);
    const [, , , H, W] = pixels.shape;
    const h = H / this.spatialFactor;
    const w = W / this.spatialFactor;
    const out = new Float32Array(this.zDim * T * h * w);
    const tf = this.temporalFactor;
    const spans = chunkSpans(T, this.#opts.encodeChunk ?? 1); // latent frames [start, start + n)
    await this.#chunked('vae_encoder_first', 'vae_encoder_step', 'pixels', 'mu', spans.length,
      (i) => (i === 0 ? sliceFrames(pixels, 0, 1) : sliceFrames(pixels, 1 + (spans[i][0] - 1) * tf, spans[i][1] * tf)),
      (i, mu) => placeFrames(out, T, mu, spans[i][0]), options.signal);
    return { data: out, shape: [1, this.zDim, T, h, w] };
  }

  /** raw latent [1, z, T, h, w] → pixels [1, 3, 4(T−1)+1, 16h, 16w] clamped to [-1, 1]. */
  async decode(latent: HostTensor, options: VaeCallOptions = {}): Promise<HostTensor> {
    this.#checkLatent(latent);
    if (this.graphs === 'loop') return this.#loop('vae_decoder_loop', 'latent', latent, 'pixels', latent.shape[2], options.signal);
    const [, , T, h, w] = latent.shape;
    const F = this.temporalFactor * (T - 1) + 1;
    const H = h * this.spatialFactor;
    const W = w * this.spatialFactor;
    const out = new Float32Array(3 * F * H * W);
    await this.decodeStream(latent, (pix, f0) => placeFrames(out, F, pix, f0), options);
    return { data: out, shape: [1, 3, F, H, W] };
  }

  /**
   * Decode chunk by chunk, handing each chunk's pixels [1, 3, 1 or 4k, 16h, 16w] and its first frame index to
   * `onFrames` (awaited before the next chunk runs) instead of accumulating the video. With the Loop graphs
   * the whole video is one run, handed over once.
   */
  async decodeStream(latent: HostTensor, onFrames: (pixels: HostTensor, firstFrame: number) => void | Promise<void>, options: VaeCallOptions = {}): Promise<void> {
    this.#checkLatent(latent);
    if (this.graphs === 'loop') {
      await onFrames(await this.decode(latent, options), 0);
      return;
    }
    const tf = this.temporalFactor;
    const spans = chunkSpans(latent.shape[2], this.#opts.decodeChunk ?? 1);
    await this.#chunked('vae_decoder_first', 'vae_decoder_step', 'latent', 'pixels', spans.length,
      (i) => sliceFrames(latent, spans[i][0], spans[i][1]),
      (i, pix) => onFrames(pix, i === 0 ? 0 : 1 + (spans[i][0] - 1) * tf), options.signal);
  }

  /** Whole-sequence decode through `vae_decoder_full` (memory grows with T: tests and benchmarks only). */
  async decodeOneShot(latent: HostTensor): Promise<HostTensor> {
    this.#checkLatent(latent);
    const out = await (await this.#session('vae_decoder_full')).run({ latent });
    return out.pixels as HostTensor;
  }

  /** Whole-sequence encode through `vae_encoder_full` (tests and benchmarks only). */
  async encodeOneShot(pixels: HostTensor): Promise<HostTensor> {
    this.#checkPixels(pixels);
    const out = await (await this.#session('vae_encoder_full')).run({ pixels });
    return out.mu as HostTensor;
  }

  async release(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const s of sessions) await s.release();
  }
}
