import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, type Manifest } from '../../src/convert/index.js';
import { OrtVae } from '../../src/engine/ort-vae.js';
import { relL2, type HostTensor } from '../../src/shared/index.js';
import { noise } from '../support/tensors.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

/** Frames [0, n) of a [1, C, F, H, W] tensor. */
function leading(x: HostTensor, n: number): Float32Array {
  const [, C, F, H, W] = x.shape;
  const out = new Float32Array(C * n * H * W);
  for (let c = 0; c < C; c++) out.set(x.data.subarray(c * F * H * W, (c * F + n) * H * W), c * n * H * W);
  return out;
}

describe('OrtVae', () => {
  let out: string;
  let manifest: Manifest;
  let vae: OrtVae;
  let chunked: OrtVae;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-ortvae-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
    vae = await OrtVae.open(out, manifest, { device: 'cpu', threads: 1 });
    chunked = await OrtVae.open(out, manifest, { device: 'cpu', threads: 1, graphs: 'chunked' });
  });
  afterAll(async () => {
    await vae?.release();
    await chunked?.release();
    await rm(out, { recursive: true, force: true });
  });

  it('reads the latent statistics from the copied vae/config.json', async () => {
    const cfg = JSON.parse(await readFile(path.join(out, 'vae', 'config.json'), 'utf8'));
    expect(Array.from(vae.latentsMean)).toEqual(Array.from(Float32Array.from(cfg.latents_mean)));
    expect(Array.from(vae.latentsStd)).toEqual(Array.from(Float32Array.from(cfg.latents_std)));
    expect([vae.zDim, vae.spatialFactor, vae.temporalFactor]).toEqual([48, 16, 4]);
  });

  it('encodes [1, 3, 4k+1, H, W] to [1, z, k+1, H/16, W/16] and decodes back to pixels in [-1, 1]', async () => {
    const mu = await vae.encode(noise([1, 3, 5, 32, 48], 1));
    expect(mu.shape).toEqual([1, 48, 2, 2, 3]);
    expect(mu.data.every(Number.isFinite)).toBe(true);
    const image = await vae.encode(noise([1, 3, 1, 16, 16], 2));
    expect(image.shape).toEqual([1, 48, 1, 1, 1]);
    const pix = await vae.decode(noise([1, 48, 3, 2, 3], 3));
    expect(pix.shape).toEqual([1, 3, 9, 32, 48]);
    expect(pix.data.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect((await vae.decode(noise([1, 48, 1, 1, 2], 4))).shape).toEqual([1, 3, 1, 16, 32]);
  });

  it('refuses frame counts other than 4k+1 and sizes that are not multiples of 16', async () => {
    for (const F of [2, 4, 6, 8]) await expect(vae.encode(noise([1, 3, F, 16, 16], F))).rejects.toThrow(RangeError);
    await expect(vae.encode(noise([1, 3, 5, 24, 16], 5))).rejects.toThrow(/multiple of 16/);
    await expect(vae.encode(noise([1, 4, 1, 16, 16], 6))).rejects.toThrow(RangeError);
    await expect(vae.decode(noise([1, 47, 1, 1, 1], 7))).rejects.toThrow(RangeError);
  });

  it('runs the Loop graphs by default: one run per call, a prefix of the latent decodes to a prefix of the video', async () => {
    expect(vae.graphs).toBe('loop');
    const latent = noise([1, 48, 6, 1, 2], 8);
    const full = await vae.decode(latent);
    expect(vae.lastRun).toEqual({ graphs: 'loop', runs: 1, chunks: 6, peakCacheBytes: 0 });
    const short = await vae.decode({ data: leading(latent, 2), shape: [1, 48, 2, 1, 2] });
    expect(relL2(leading(full, 5), short.data)).toBeLessThan(1e-6);
    expect(relL2(full.data, (await chunked.decode(latent)).data)).toBeLessThan(1e-5);
    const frames: number[] = [];
    await vae.decodeStream(latent, (pix, f0) => {
      frames.push(f0, pix.shape[2]);
    });
    expect(frames).toEqual([0, 21]); // one run, handed over once
    const pixels = noise([1, 3, 13, 16, 16], 9);
    expect(relL2((await vae.encode(pixels)).data, (await chunked.encode(pixels)).data)).toBeLessThan(1e-5);
    expect(vae.lastRun.runs).toBe(1);
  });

  it('falls back to the chunk graphs for a model converted without the Loop graphs', async () => {
    const { vae_decoder_loop: _d, vae_encoder_loop: _e, ...graphs } = manifest.graphs;
    const old = { ...manifest, graphs };
    const v = await OrtVae.open(out, old, { device: 'cpu', threads: 1 });
    try {
      expect(v.graphs).toBe('chunked');
      await v.decode(noise([1, 48, 2, 1, 1], 13));
      expect(v.lastRun).toMatchObject({ graphs: 'chunked', runs: 2, chunks: 2 });
    } finally {
      await v.release();
    }
    await expect(OrtVae.open(out, old, { device: 'cpu', graphs: 'loop' })).rejects.toMatchObject({ code: 'C3S_ERR_MODEL_MANIFEST' });
  });

  it('chunk graphs: carry a bounded set of caches, one run per latent frame, cache size independent of length', async () => {
    const latent = noise([1, 48, 6, 1, 2], 8);
    const full = await chunked.decode(latent);
    const long = chunked.lastRun;
    expect(long.chunks).toBe(6);
    const short = await chunked.decode({ data: leading(latent, 2), shape: [1, 48, 2, 1, 2] });
    expect(chunked.lastRun.chunks).toBe(2);
    expect(chunked.lastRun.peakCacheBytes).toBe(long.peakCacheBytes);
    expect(long.peakCacheBytes).toBeGreaterThan(0);
    // causal: a prefix of the latent decodes to a prefix of the video
    expect(relL2(leading(full, 5), short.data)).toBeLessThan(1e-6);

    const pixels = noise([1, 3, 13, 16, 16], 9);
    const mu = await chunked.encode(pixels);
    const encLong = chunked.lastRun;
    expect(encLong.chunks).toBe(4);
    const mu2 = await chunked.encode({ data: leading(pixels, 5), shape: [1, 3, 5, 16, 16] });
    expect(chunked.lastRun.peakCacheBytes).toBe(encLong.peakCacheBytes);
    expect(relL2(leading(mu, 2), mu2.data)).toBeLessThan(1e-6);
  });

  it('a cancelled call stops before its next run: between chunks with the chunk graphs, before the one run with the Loop graphs', async () => {
    const latent = noise([1, 48, 6, 1, 2], 8);
    const ac = new AbortController();
    const delivered: number[] = [];
    const reason = new Error('cancelled by the client');
    await expect(chunked.decodeStream(latent, (_pix, f0) => {
      delivered.push(f0);
      if (delivered.length === 2) ac.abort(reason);
    }, { signal: ac.signal })).rejects.toBe(reason);
    expect(delivered).toEqual([0, 1]); // chunks 0 and 1 ran; chunk 2 never started

    const pixels = noise([1, 3, 13, 16, 16], 9);
    const before = vae.lastRun;
    await expect(vae.decode(latent, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(vae.encode(pixels, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(chunked.encode(pixels, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(vae.lastRun).toBe(before); // nothing ran
  });

  it('chunk graphs: give the same result with longer step chunks (fewer runs, same caches)', async () => {
    const wide = await OrtVae.open(out, manifest, { device: 'cpu', threads: 1, decodeChunk: 3, encodeChunk: 2, graphs: 'chunked' });
    try {
      const latent = noise([1, 48, 6, 1, 2], 10);
      const ref = await chunked.decode(latent);
      const got = await wide.decode(latent);
      expect(wide.lastRun.chunks).toBe(3); // frame 0, then 1..3 and 4..5
      expect(wide.lastRun.peakCacheBytes).toBe(chunked.lastRun.peakCacheBytes);
      expect(relL2(got.data, ref.data)).toBeLessThan(1e-6);
      const pixels = noise([1, 3, 13, 16, 16], 12);
      expect(relL2((await wide.encode(pixels)).data, (await chunked.encode(pixels)).data)).toBeLessThan(1e-6);
      expect(wide.lastRun.chunks).toBe(3);
    } finally {
      await wide.release();
    }
    await expect(OrtVae.open(out, manifest, { device: 'cpu', decodeChunk: 0 })).rejects.toThrow(RangeError);
  });
});
