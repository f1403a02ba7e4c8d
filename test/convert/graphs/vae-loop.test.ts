import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, decodeModel, type Manifest } from '../../../src/convert/index.js';
import { listCases, openCase } from '../../../src/cli/verify/fixture.js';
import { OrtVae } from '../../../src/engine/ort-vae.js';
import { relL2, type HostTensor, type RgbFrames } from '../../../src/shared/index.js';
import { rgbToSigned, signedToRgb } from '../../../src/pipeline/latents/index.js';
import { noise } from '../../support/tensors.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

/** Round float32 values to the nearest float16 (ties to even); values stay within float16's range here. */
function roundF16(x: Float32Array): Float32Array {
  return x.map((v) => {
    const a = Math.abs(v);
    if (a === 0) return v;
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    if (2 ** (e + 1) <= a) e++;
    const ulp = 2 ** Math.max(e - 10, -24);
    const r = a / ulp;
    const f = Math.floor(r);
    const q = r - f > 0.5 || (r - f === 0.5 && f % 2 === 1) ? f + 1 : f;
    return Math.sign(v) * q * ulp;
  });
}

describe('VAE Loop graphs (vae_encoder_loop, vae_decoder_loop)', () => {
  let out: string;
  let manifest: Manifest;
  let loop: OrtVae;
  let chunked: OrtVae;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-vae-loop-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
    loop = await OrtVae.open(out, manifest, { device: 'cpu', threads: 1 });
    chunked = await OrtVae.open(out, manifest, { device: 'cpu', threads: 1, graphs: 'chunked' });
  });
  afterAll(async () => {
    await loop?.release();
    await chunked?.release();
    await rm(out, { recursive: true, force: true });
  });

  it('takes the whole sequence and returns the whole output: no cache crosses the graph boundary', async () => {
    expect(manifest.graphs.vae_decoder_loop.inputs).toEqual([{ name: 'latent', dtype: 'float32', dims: [1, 48, 'latent_frames', 'latent_h', 'latent_w'] }]);
    expect(manifest.graphs.vae_decoder_loop.outputs).toEqual([{ name: 'pixels', dtype: 'float32', dims: [1, 3, 'frames', 'latent_h*16', 'latent_w*16'] }]);
    expect(manifest.graphs.vae_encoder_loop.inputs).toEqual([{ name: 'pixels', dtype: 'float32', dims: [1, 3, 'frames', 'height', 'width'] }]);
    expect(manifest.graphs.vae_encoder_loop.outputs).toEqual([{ name: 'mu', dtype: 'float32', dims: [1, 48, 'latent_frames', 'height/16', 'width/16'] }]);
    const m = decodeModel(await readFile(path.join(out, 'vae_decoder_loop.onnx'))) as {
      graph: { node: { opType: string; attribute?: { name: string; g?: { input: unknown[]; initializer?: unknown[] } }[] }[]; initializer: { name: string }[] };
    };
    const loops = m.graph.node.filter((n) => n.opType === 'Loop');
    expect(loops).toHaveLength(1);
    const body = loops[0].attribute!.find((a) => a.name === 'body')!.g!;
    const carried = manifest.graphs.vae_decoder_step.inputs.filter((i) => i.name.startsWith('cache_in.')).length;
    expect(body.input).toHaveLength(2 + carried); // iteration, condition, one state per cache
    expect(body.initializer ?? []).toEqual([]); // the body reads the weights from the outer graph
    const names = m.graph.initializer.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('decodes like the chunk graphs run one latent frame at a time (1, 2 and 5 latent frames)', async () => {
    for (const [T, seed] of [[1, 1], [2, 2], [5, 3]]) {
      const latent = noise([1, 48, T, 2, 3], seed);
      const got = await loop.decode(latent);
      expect(loop.lastRun).toEqual({ graphs: 'loop', runs: 1, chunks: T, peakCacheBytes: 0 });
      const ref = await chunked.decode(latent);
      expect(chunked.lastRun.runs).toBe(T);
      expect(got.shape).toEqual([1, 3, 4 * (T - 1) + 1, 32, 48]);
      expect(relL2(got.data, ref.data), `T = ${T}`).toBeLessThan(1e-5);
    }
  });

  it('encodes like the chunk graphs run frame 0, then chunks of 4 (1, 5 and 13 frames)', async () => {
    for (const [F, seed] of [[1, 4], [5, 5], [13, 6]]) {
      const pixels = noise([1, 3, F, 32, 48], seed);
      const got = await loop.encode(pixels);
      expect(loop.lastRun).toEqual({ graphs: 'loop', runs: 1, chunks: 1 + (F - 1) / 4, peakCacheBytes: 0 });
      const ref = await chunked.encode(pixels);
      expect(got.shape).toEqual([1, 48, 1 + (F - 1) / 4, 2, 3]);
      expect(relL2(got.data, ref.data), `F = ${F}`).toBeLessThan(1e-5);
    }
  });

  it('matches every vae_* golden case within 1e-4 and the chunked run within 1e-5', async () => {
    const cases = (await listCases(FIXTURE)).filter((c) => c.startsWith('vae_'));
    expect(cases.length).toBeGreaterThan(0);
    for (const name of cases) {
      const c = await openCase(FIXTURE, name);
      try {
        const pixels = await c.f32('encode_in');
        const latent = await c.f32('decode_in_raw');
        const mu = await loop.encode(pixels);
        const pix = await loop.decode(latent);
        expect.soft(relL2(mu.data, (await c.f32('encode_mean')).data), `${name} encode_mean`).toBeLessThan(1e-4);
        expect.soft(relL2(pix.data, (await c.f32('decode_out')).data), `${name} decode_out`).toBeLessThan(1e-4);
        expect.soft(relL2(mu.data, (await chunked.encode(pixels)).data), `${name} encode vs chunked`).toBeLessThan(1e-5);
        expect.soft(relL2(pix.data, (await chunked.decode(latent)).data), `${name} decode vs chunked`).toBeLessThan(1e-5);
      } finally {
        await c.close();
      }
    }
  });

  // The CPU provider runs float16 convolutions in float32 (inserted casts), so some "float16" values stay
  // unrounded there: the Loop decoder stacks its pixels in the compute dtype (exact where convolutions run in it,
  // as on CUDA), so the chunk graphs' pixels are compared rounded; the encoder differs at float16 precision,
  // as chunked and whole-sequence float16 do on the CPU (float32: bit for bit, above).
  it('has RGB-byte variants (the graphs the server runs): frames [F, H, W, 3] uint8 in or out', async () => {
    expect(manifest.graphs.vae_decoder_loop_rgb8.inputs).toEqual(manifest.graphs.vae_decoder_loop.inputs);
    expect(manifest.graphs.vae_decoder_loop_rgb8.outputs).toEqual([{ name: 'frames', dtype: 'uint8', dims: ['frames', 'latent_h*16', 'latent_w*16', 3] }]);
    expect(manifest.graphs.vae_encoder_loop_rgb8.inputs).toEqual([{ name: 'frames', dtype: 'uint8', dims: ['frames', 'height', 'width', 3] }]);
    expect(manifest.graphs.vae_encoder_loop_rgb8.outputs).toEqual(manifest.graphs.vae_encoder_loop.outputs);
    expect(loop.rgb8).toBe(true);
    expect(chunked.rgb8).toBe(false);
  });

  it('decodeFrames through vae_decoder_loop_rgb8 equals signedToRgb of the float32 decode, byte for byte (1, 2 and 5 latent frames)', async () => {
    for (const [T, seed] of [[1, 11], [2, 12], [5, 13]]) {
      // scaled up so that the pixels cover the clamp at both ends as well as the inside
      const latent = noise([1, 48, T, 2, 3], seed);
      for (let i = 0; i < latent.data.length; i++) latent.data[i] *= 40;
      const bytes = await loop.decodeFrames(latent);
      expect(loop.lastRun).toEqual({ graphs: 'loop', runs: 1, chunks: T, peakCacheBytes: 0 });
      const ref = signedToRgb(await loop.decode(latent));
      expect({ frames: bytes.frames, height: bytes.height, width: bytes.width }).toEqual({ frames: 4 * (T - 1) + 1, height: 32, width: 48 });
      expect(bytes.data).toBeInstanceOf(Uint8Array);
      const differing = bytes.data.filter((b, i) => b !== ref.data[i]).length;
      expect(differing, `T = ${T}`).toBe(0);
      if (T === 5) {
        const values = new Set(bytes.data);
        expect(values.has(0) && values.has(255) && values.size > 100, `${values.size} distinct values`).toBe(true);
      }
    }
  });

  it('encodeFrames through vae_encoder_loop_rgb8 equals the float32 encode of rgbToSigned (1, 5 and 13 frames)', async () => {
    for (const [F, seed] of [[1, 14], [5, 15], [13, 16]]) {
      const frames: RgbFrames = { data: signedToRgb(noise([1, 3, F, 32, 48], seed)).data, frames: F, height: 32, width: 48 };
      const got = await loop.encodeFrames(frames);
      expect(loop.lastRun).toEqual({ graphs: 'loop', runs: 1, chunks: 1 + (F - 1) / 4, peakCacheBytes: 0 });
      const ref = await loop.encode(rgbToSigned(frames));
      expect(got.shape).toEqual(ref.shape);
      expect(relL2(got.data, ref.data), `F = ${F}`).toBeLessThan(1e-7);
    }
  });

  it('without the RGB-byte graphs (rgb8: false, or the chunk graphs) encodeFrames/decodeFrames convert on the host to the same result', async () => {
    const host = await OrtVae.open(out, manifest, { device: 'cpu', threads: 1, rgb8: false });
    try {
      expect(host.rgb8).toBe(false);
      const latent = noise([1, 48, 2, 2, 3], 17);
      const want = await loop.decodeFrames(latent);
      expect((await host.decodeFrames(latent)).data).toEqual(want.data);
      expect(signedToRgb(await chunked.decode(latent)).data.filter((b, i) => Math.abs(b - want.data[i]) > 1)).toHaveLength(0);
      const frames: RgbFrames = { data: want.data, frames: want.frames, height: want.height, width: want.width };
      expect(relL2((await host.encodeFrames(frames)).data, (await loop.encodeFrames(frames)).data)).toBeLessThan(1e-7);
      await expect(loop.encodeFrames({ ...frames, frames: 4, data: frames.data.subarray(0, 4 * 32 * 48 * 3) })).rejects.toThrow(/4k\+1/);
      await expect(loop.encodeFrames({ ...frames, data: frames.data.subarray(1) })).rejects.toThrow(/bytes/);
    } finally {
      await host.release();
    }
  });

  it('runs in float16 with the caches carried in the compute dtype', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-vae-loop-f16-'));
    try {
      const m16 = await convertCheckpoint({ checkpoint: FIXTURE, out: dir, dtype: 'float16', hash: false });
      const a = await OrtVae.open(dir, m16, { device: 'cpu', threads: 1 });
      const b = await OrtVae.open(dir, m16, { device: 'cpu', threads: 1, graphs: 'chunked' });
      try {
        const latent = noise([1, 48, 3, 2, 3], 9);
        expect(relL2((await a.decode(latent)).data, roundF16((await b.decode(latent)).data)), 'decode').toBeLessThan(1e-5);
        expect((await a.decodeFrames(latent)).data, 'RGB bytes in the graph').toEqual(signedToRgb(await a.decode(latent)).data);
        const pixels = noise([1, 3, 9, 32, 48], 10);
        expect(relL2((await a.encode(pixels)).data, (await b.encode(pixels)).data), 'encode').toBeLessThan(1e-3);
      } finally {
        await a.release();
        await b.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
