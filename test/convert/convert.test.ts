import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, readManifest, SafetensorsReader, writeSafetensors } from '../../src/convert/index.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-conv-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Copy the fixture checkpoint with the transformer weights edited. */
async function editedCheckpoint(edit: (name: string, shape: readonly number[]) => { drop?: boolean; shape?: number[]; fill?: number }): Promise<string> {
  const ckpt = path.join(dir, 'ckpt');
  for (const sub of ['transformer', 'vae', 'scheduler', 'text_tokenizer']) await cp(path.join(FIXTURE, sub), path.join(ckpt, sub), { recursive: true });
  const src = path.join(FIXTURE, 'transformer', 'diffusion_pytorch_model.safetensors');
  const r = await SafetensorsReader.open(src);
  const specs = r.names().flatMap((name) => {
    const t = r.get(name)!;
    const e = edit(name, t.shape);
    if (e.drop) return [];
    return [{ name, dtype: t.dtype, shape: e.shape ?? [...t.shape] }];
  });
  const dst = path.join(ckpt, 'transformer', 'diffusion_pytorch_model.safetensors');
  await rm(dst);
  await writeSafetensors(dst, specs, async (name) => {
    const s = specs.find((x) => x.name === name)!;
    const n = s.shape.reduce((a, b) => a * b, 1);
    const fill = edit(name, s.shape).fill;
    if (fill !== undefined) return new Float32Array(n).fill(fill);
    const data = await r.readFloat32(name);
    return data.length === n ? data : new Float32Array(n);
  });
  await r.close();
  return ckpt;
}

describe('convertCheckpoint', () => {
  it('writes graphs and a manifest with sources, hashes, dtypes and graph I/O', async () => {
    const out = path.join(dir, 'out');
    const m = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32' });
    const again = await readManifest(out);
    expect(again).toEqual(m);
    expect(m.dtype).toBe('float32');
    expect(m.source.files.map((f) => f.path)).toContain('transformer/diffusion_pytorch_model.safetensors');
    expect(m.source.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256 ?? ''))).toBe(true);
    expect(m.graphs.transformer.inputs.map((i) => i.name)).toEqual(['input_ids', 'positions', 'timestep', 'vision_latents', 'vision_noisy']);
    expect(m.graphs.transformer_action.inputs.map((i) => i.name)).toContain('domain_id');
    expect(m.configs['transformer/config.json']).toBe('transformer/config.json');
    expect((await stat(path.join(out, 'text_tokenizer', 'tokenizer.json'))).isFile()).toBe(true);
  });

  it('hard-links weights whose dtype already matches, and copies them with link: false', async () => {
    const linked = path.join(dir, 'linked');
    await convertCheckpoint({ checkpoint: FIXTURE, out: linked, dtype: 'float32', hash: false });
    const copied = path.join(dir, 'copied');
    await convertCheckpoint({ checkpoint: FIXTURE, out: copied, dtype: 'float32', hash: false, link: false });
    expect((await stat(path.join(linked, 'transformer.src0.safetensors'))).size).toBe((await stat(path.join(FIXTURE, 'transformer', 'diffusion_pytorch_model.safetensors'))).size);
    await expect(stat(path.join(copied, 'transformer.src0.safetensors'))).rejects.toThrow();
    expect((await stat(path.join(copied, 'transformer.weights.bin'))).size).toBeGreaterThan(0);
  });

  it('converts to bf16 and fp16 weight files of half the size', async () => {
    const a = path.join(dir, 'bf16');
    await convertCheckpoint({ checkpoint: FIXTURE, out: a, dtype: 'bfloat16', hash: false });
    const b = path.join(dir, 'fp16');
    await convertCheckpoint({ checkpoint: FIXTURE, out: b, dtype: 'float16', hash: false });
    const sa = (await stat(path.join(a, 'transformer.weights.bin'))).size;
    const sb = (await stat(path.join(b, 'transformer.weights.bin'))).size;
    expect(sa).toBe(sb);
    const src = (await stat(path.join(FIXTURE, 'transformer', 'diffusion_pytorch_model.safetensors'))).size;
    expect(sa).toBeLessThan(src * 0.6);
    const manifest = JSON.parse(await readFile(path.join(a, 'manifest.json'), 'utf8'));
    expect(manifest.dtype).toBe('bfloat16');
  });

  it('a re-run into the same folder: no stale links, and no manifest while it runs or after it fails', async () => {
    const out = path.join(dir, 'again');
    await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
    expect((await readdir(out)).filter((f) => /\.src\d+\.safetensors$/.test(f)).length).toBeGreaterThan(0);
    await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false, link: false });
    expect((await readdir(out)).filter((f) => /\.src\d+\.safetensors$/.test(f))).toEqual([]); // they held the checkpoint's blocks
    await readManifest(out);
    // a run that fails (here: a transformer tensor missing, after the VAE is written) leaves no manifest behind
    const bad = await editedCheckpoint((n) => ({ drop: n === 'layers.1.self_attn.add_k_proj.weight' }));
    await expect(convertCheckpoint({ checkpoint: bad, out, dtype: 'float32', hash: false })).rejects.toThrow(/add_k_proj/);
    await expect(stat(path.join(out, 'manifest.json'))).rejects.toThrow();
    await expect(readManifest(out)).rejects.toThrow(/manifest\.json is missing/);
  });

  it('refuses, before writing anything, an output inside the checkpoint and a checkpoint without what the server reads', async () => {
    const ckpt = path.join(dir, 'ck');
    for (const sub of ['transformer', 'vae', 'scheduler', 'text_tokenizer']) await cp(path.join(FIXTURE, sub), path.join(ckpt, sub), { recursive: true });
    for (const out of [ckpt, path.join(ckpt, 'transformer'), path.join(ckpt, 'onnx')]) {
      await expect(convertCheckpoint({ checkpoint: ckpt, out, dtype: 'float32', hash: false })).rejects.toThrow(/holds the output folder/);
    }
    await expect(stat(path.join(ckpt, 'onnx'))).rejects.toThrow();
    await rm(path.join(ckpt, 'scheduler'), { recursive: true });
    await rm(path.join(ckpt, 'text_tokenizer', 'tokenizer.json'));
    const out = path.join(dir, 'never');
    await expect(convertCheckpoint({ checkpoint: ckpt, out, dtype: 'float32', hash: false }))
      .rejects.toThrow(/lacks scheduler\/scheduler_config\.json, text_tokenizer\/tokenizer\.json, which the server reads/);
    await expect(stat(out)).rejects.toThrow();
    // a tokenizer_config.json without a chat_template is no template (the server's tokenizer would refuse it)
    await cp(path.join(FIXTURE, 'scheduler'), path.join(ckpt, 'scheduler'), { recursive: true });
    await cp(path.join(FIXTURE, 'text_tokenizer', 'tokenizer.json'), path.join(ckpt, 'text_tokenizer', 'tokenizer.json'));
    await rm(path.join(ckpt, 'text_tokenizer', 'chat_template.jinja'));
    await writeFile(path.join(ckpt, 'text_tokenizer', 'tokenizer_config.json'), JSON.stringify({ model_max_length: 1024 }));
    await expect(convertCheckpoint({ checkpoint: ckpt, out, dtype: 'float32', hash: false }))
      .rejects.toThrow(/lacks text_tokenizer\/chat_template\.jinja \(or a chat_template in tokenizer_config\.json\)/);
    await expect(stat(out)).rejects.toThrow();
    // a scheduler the sampler does not implement
    await cp(path.join(FIXTURE, 'text_tokenizer'), path.join(ckpt, 'text_tokenizer'), { recursive: true });
    const sched = JSON.parse(await readFile(path.join(FIXTURE, 'scheduler', 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(ckpt, 'scheduler', 'scheduler_config.json'), JSON.stringify({ ...sched, solver_type: 'bh1' }));
    await expect(convertCheckpoint({ checkpoint: ckpt, out, dtype: 'float32', hash: false })).rejects.toThrow(/scheduler_config\.json: solver_type: only "bh2" is supported/);
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses a checkpoint missing a tensor, naming it and the expected shape', async () => {
    const ckpt = await editedCheckpoint((n) => ({ drop: n === 'layers.1.self_attn.add_k_proj.weight' }));
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'o'), dtype: 'float32', hash: false }))
      .rejects.toThrow('checkpoint tensor layers.1.self_attn.add_k_proj.weight: missing from the checkpoint; expected shape [64, 128]');
  });

  it('refuses a mis-shaped tensor, naming both shapes', async () => {
    const ckpt = await editedCheckpoint((n) => (n === 'proj_in.weight' ? { shape: [128, 96] } : {}));
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'o'), dtype: 'float32', hash: false }))
      .rejects.toThrow('checkpoint tensor proj_in.weight: has shape [128, 96], expected [128, 192]');
  });

  it('links the files behind a Hugging Face cache\'s symlinks (snapshots/<rev>/… → ../../blobs/<hash>), not the symlinks', async () => {
    const repo = path.join(dir, 'models--org--tiny');
    const snap = path.join(repo, 'snapshots', 'abc123');
    await cp(FIXTURE, snap, { recursive: true });
    await mkdir(path.join(repo, 'blobs'));
    for (const sub of ['transformer', 'vae']) {
      const file = path.join(snap, sub, 'diffusion_pytorch_model.safetensors');
      await rename(file, path.join(repo, 'blobs', sub));
      await symlink(path.join('..', '..', '..', 'blobs', sub), file);
    }
    const out = path.join(dir, 'out');
    await convertCheckpoint({ checkpoint: snap, out, dtype: 'float32', hash: false });
    for (const base of ['transformer', 'vae']) {
      const placed = path.join(out, `${base}.src0.safetensors`);
      expect((await lstat(placed)).isFile(), placed).toBe(true);
      expect((await stat(placed)).size).toBe((await stat(path.join(repo, 'blobs', base))).size);
    }
  });

  it('refuses a VAE whose latent channels are not the transformer\'s, before writing anything', async () => {
    const ckpt = path.join(dir, 'mix');
    await cp(FIXTURE, ckpt, { recursive: true });
    await rm(path.join(ckpt, 'vae'), { recursive: true });
    await cp(path.resolve('test/fixtures/cosmos3-variant/vae'), path.join(ckpt, 'vae'), { recursive: true });
    const out = path.join(dir, 'o');
    await expect(convertCheckpoint({ checkpoint: ckpt, out, dtype: 'float32', hash: false }))
      .rejects.toThrow(/vae\/config\.json z_dim is 16 but transformer\/config\.json latent_channel is 48/);
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses weights of more layers than the config describes (they would be dropped silently)', async () => {
    const ckpt = await editedCheckpoint(() => ({}));
    const cfgFile = path.join(ckpt, 'transformer', 'config.json');
    const cfg = JSON.parse(await readFile(cfgFile, 'utf8')) as Record<string, unknown>;
    await writeFile(cfgFile, JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'o'), dtype: 'float32', hash: false }))
      .rejects.toThrow(/checkpoint tensor layers\.1\.\S+: is in the checkpoint, but its config\.json describes fewer blocks/);
  });

  it('refuses an output inside the checkpoint reached through a symlink', async () => {
    const ckpt = path.join(dir, 'ck');
    await cp(FIXTURE, ckpt, { recursive: true });
    await symlink(ckpt, path.join(dir, 'ck-link'));
    await expect(convertCheckpoint({ checkpoint: path.join(dir, 'ck-link'), out: path.join(ckpt, 'onnx'), dtype: 'float32', hash: false }))
      .rejects.toThrow(/holds the output folder/);
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'ck-link', 'onnx', 'deeper'), dtype: 'float32', hash: false }))
      .rejects.toThrow(/holds the output folder/);
    // a path through a symlink into the checkpoint and back up: mkdir would follow the link, so must the check
    await symlink(path.join(ckpt, 'transformer'), path.join(dir, 'tf-link'));
    await expect(convertCheckpoint({ checkpoint: ckpt, out: `${path.join(dir, 'tf-link')}/../onnx`, dtype: 'float32', hash: false }))
      .rejects.toThrow(/holds the output folder/);
    await expect(stat(path.join(ckpt, 'onnx'))).rejects.toThrow();
  });

  it('refuses VAE resnets beyond num_res_blocks (a number inside a block counts too)', async () => {
    const ckpt = path.join(dir, 'vae-blocks');
    await cp(FIXTURE, ckpt, { recursive: true });
    const cfgFile = path.join(ckpt, 'vae', 'config.json');
    const cfg = JSON.parse(await readFile(cfgFile, 'utf8')) as { num_res_blocks: number };
    await writeFile(cfgFile, JSON.stringify({ ...cfg, num_res_blocks: cfg.num_res_blocks - 1 }));
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'o'), dtype: 'float32', hash: false }))
      .rejects.toThrow(/checkpoint tensor \S*resnets\.\d+\S*: is in the checkpoint, but its config\.json describes fewer blocks/);
  });

  it('reads the default weights beside a (sharded) variant, and lists only the files it read as sources', async () => {
    const ckpt = path.join(dir, 'variants');
    await cp(FIXTURE, ckpt, { recursive: true });
    const tf = path.join(ckpt, 'transformer');
    await writeFile(path.join(tf, 'diffusion_pytorch_model.safetensors.index.fp16.json'), '{}');
    await writeFile(path.join(tf, 'diffusion_pytorch_model.fp16.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'diffusion_pytorch_model.fp16-00001-of-00001.safetensors' } }));
    await writeFile(path.join(tf, 'diffusion_pytorch_model.fp16-00001-of-00001.safetensors'), 'not read');
    const m = await convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'o'), dtype: 'float32', hash: false });
    expect(m.source.files.map((f) => f.path)).toEqual(['transformer/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors']);
  });

  it('refuses a weight outside float16\'s range when converting to fp16, naming it (bf16 takes it)', async () => {
    const ckpt = await editedCheckpoint((n) => (n === 'proj_in.weight' ? { fill: 1e5 } : {}));
    await expect(convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'o'), dtype: 'float16', hash: false }))
      .rejects.toThrow(/checkpoint tensor proj_in\.weight: holds 100000, outside float16's range \(±65504\): convert with --dtype bf16 or fp32/);
    await convertCheckpoint({ checkpoint: ckpt, out: path.join(dir, 'b'), dtype: 'bfloat16', hash: false });
  });

  it('refuses a folder that is not a checkpoint', async () => {
    await expect(convertCheckpoint({ checkpoint: path.join(dir, 'nope'), out: path.join(dir, 'o'), dtype: 'float32' })).rejects.toThrow(/is not a folder/);
  });
});
