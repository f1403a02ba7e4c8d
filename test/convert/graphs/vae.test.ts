import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, SafetensorsReader, VAE_GRAPHS, writeSafetensors, type Manifest } from '../../../src/convert/index.js';
import { listCases, openCase } from '../../../src/cli/verify/fixture.js';
import { runVaeCase } from '../../../src/cli/verify/vae-case.js';
import { OrtVae } from '../../../src/engine/ort-vae.js';
import { relL2, type HostTensor } from '../../../src/shared/index.js';
import { noise } from '../../support/tensors.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

describe('VAE graphs against the golden vae_* cases', () => {
  let out: string;
  let manifest: Manifest;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-vae-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('writes every VAE graph, the chunk graphs carrying their caches as float32 I/O', () => {
    expect(Object.keys(manifest.graphs)).toEqual(expect.arrayContaining([...VAE_GRAPHS]));
    const first = manifest.graphs.vae_decoder_first;
    const step = manifest.graphs.vae_decoder_step;
    expect(first.inputs.map((i) => i.name)).toEqual(['latent']);
    const outs = first.outputs.filter((o) => o.name.startsWith('cache_out.'));
    const ins = step.inputs.filter((i) => i.name.startsWith('cache_in.'));
    expect(outs.length).toBeGreaterThan(0);
    expect(ins.map((i) => i.name.replace('cache_in.', ''))).toEqual(outs.map((o) => o.name.replace('cache_out.', '')));
    expect(step.inputs.find((i) => i.name === 'cache_in.decoder.conv_in')).toEqual({ name: 'cache_in.decoder.conv_in', dtype: 'float32', dims: [1, 48, 2, 'latent_h', 'latent_w'] });
    expect(step.inputs[0]).toEqual({ name: 'latent', dtype: 'float32', dims: [1, 48, 'chunk_latent_frames', 'latent_h', 'latent_w'] });
    expect(manifest.graphs.vae_encoder_step.inputs.find((i) => i.name === 'cache_in.encoder.down_blocks.1.downsampler.time_conv')?.dims).toEqual([1, 12, 1, 'height/8', 'width/8']);
    // float32 I/O, but the frames of the RGB-byte graphs
    for (const g of VAE_GRAPHS) {
      for (const io of [...manifest.graphs[g].inputs, ...manifest.graphs[g].outputs]) expect(io.dtype, `${g} ${io.name}`).toBe(io.name === 'frames' && g.endsWith('_rgb8') ? 'uint8' : 'float32');
    }
    expect(Object.keys(manifest.graphs).filter((g) => g.startsWith('vae_')).sort()).toEqual([...VAE_GRAPHS].sort());
  });

  it('matches every vae_* case within 1e-4, Loop graphs (the default) and whole-sequence', async () => {
    const cases = (await listCases(FIXTURE)).filter((c) => c.startsWith('vae_'));
    expect(cases.length).toBeGreaterThan(0);
    for (const name of cases) {
      const c = await openCase(FIXTURE, name);
      try {
        const results = await runVaeCase(c, out, manifest, 1e-4, { oneShot: true });
        expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(['encode_mean', 'encode_normalized', 'decode_out', 'decode_out (one-shot)']));
        for (const r of results) expect.soft(r.relErr, `${name} ${r.name}`).toBeLessThanOrEqual(r.tolerance);
      } finally {
        await c.close();
      }
    }
  });

  it('chunked running (chunk graphs) equals the whole-sequence graphs within 1e-5', async () => {
    const vae = await OrtVae.open(out, manifest, { device: 'cpu', graphs: 'chunked' });
    const c = await openCase(FIXTURE, 'vae_video');
    try {
      const latent = await c.f32('decode_in_raw');
      expect(relL2((await vae.decode(latent)).data, (await vae.decodeOneShot(latent)).data)).toBeLessThan(1e-5);
      const long = noise([1, 48, 5, 2, 3], 7); // 5 latent frames: 4 step chunks
      expect(relL2((await vae.decode(long)).data, (await vae.decodeOneShot(long)).data)).toBeLessThan(1e-5);
      const pixels = noise([1, 3, 13, 32, 48], 11); // frame 0 + 3 chunks of 4
      expect(relL2((await vae.encode(pixels)).data, (await vae.encodeOneShot(pixels)).data)).toBeLessThan(1e-5);
    } finally {
      await c.close();
      await vae.release();
    }
  });
});

describe('VAE checkpoint checks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-vae-bad-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the fixture checkpoint with the VAE weights or config edited. */
  async function edited(tag: string, edit: { drop?: string; reshape?: [string, number[]]; config?: Record<string, unknown> }): Promise<string> {
    const ckpt = path.join(dir, tag);
    for (const sub of ['transformer', 'vae', 'scheduler', 'text_tokenizer']) await cp(path.join(FIXTURE, sub), path.join(ckpt, sub), { recursive: true });
    if (edit.config) {
      const file = path.join(ckpt, 'vae', 'config.json');
      await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), ...edit.config }));
    }
    if (edit.drop || edit.reshape) {
      const src = path.join(FIXTURE, 'vae', 'diffusion_pytorch_model.safetensors');
      const r = await SafetensorsReader.open(src);
      const specs = r.names().filter((n) => n !== edit.drop).map((name) => {
        const t = r.get(name)!;
        return { name, dtype: t.dtype, shape: edit.reshape?.[0] === name ? edit.reshape[1] : [...t.shape] };
      });
      await writeSafetensors(path.join(ckpt, 'vae', 'diffusion_pytorch_model.safetensors'), specs, async (name) => {
        const n = specs.find((s) => s.name === name)!.shape.reduce((a, b) => a * b, 1);
        const data = await r.readFloat32(name);
        return data.length === n ? data : new Float32Array(n);
      });
      await r.close();
    }
    return ckpt;
  }

  it('refuses a checkpoint missing a VAE tensor, naming it and its expected shape', async () => {
    const ckpt = await edited('missing', { drop: 'decoder.up_blocks.1.upsampler.time_conv.weight' });
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'out-missing'), dtype: 'float32', hash: false }))
      .rejects.toThrow(/decoder\.up_blocks\.1\.upsampler\.time_conv\.weight: missing.*expected shape \[64, 32, 3, 1, 1\]/);
  });

  it('refuses a mis-shaped VAE tensor, naming it and both shapes', async () => {
    const ckpt = await edited('shape', { reshape: ['encoder.mid_block.attentions.0.to_qkv.weight', [72, 24, 1, 2]] });
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'out-shape'), dtype: 'float32', hash: false }))
      .rejects.toThrow(/encoder\.mid_block\.attentions\.0\.to_qkv\.weight: has shape \[72, 24, 1, 2\], expected \[72, 24, 1, 1\]/);
  });

  it('refuses the non-residual VAE variant with a config error', async () => {
    const ckpt = await edited('plain', { config: { is_residual: false } });
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'out-plain'), dtype: 'float32', hash: false }))
      .rejects.toMatchObject({ code: 'C3S_ERR_CHECKPOINT_CONFIG', message: expect.stringMatching(/is_residual: only the residual/) });
  });
});
