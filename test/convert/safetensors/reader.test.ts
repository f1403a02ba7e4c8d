import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SafetensorsReader, writeSafetensors, f32ToBf16, bf16ToF32, f32ToF16, f16ToF32 } from '../../../src/convert/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-st-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f32 = (...v: number[]) => new Float32Array(v);

/** Hand-made file: 8-byte length, JSON header, data. */
async function rawFile(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Promise<string> {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  const file = path.join(dir, name);
  await writeFile(file, Buffer.concat([len, json, data]));
  return file;
}

describe('SafetensorsReader', () => {
  it('reads a single file: names, shapes, dtypes, float32 values and byte ranges', async () => {
    const file = path.join(dir, 'a.safetensors');
    await writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [2, 2] }, { name: 'y', dtype: 'F32', shape: [3] }],
      (n) => (n === 'x' ? f32(1, 2, 3, 4) : f32(5, 6, 7)));
    const r = await SafetensorsReader.open(file);
    expect(r.names().sort()).toEqual(['x', 'y']);
    expect(r.get('x')!.shape).toEqual([2, 2]);
    expect(Array.from(await r.readFloat32('y'))).toEqual([5, 6, 7]);
    const part = await r.readRange('x', 4, 8);
    expect(Array.from(new Float32Array(part.buffer.slice(part.byteOffset, part.byteOffset + 8)))).toEqual([2, 3]);
    await expect(r.readRange('x', 8, 16)).rejects.toThrow(RangeError);
    await r.close();
  });

  it('converts bf16 and f16 tensors to float32', async () => {
    const vals = f32(1, -2.5, 0.15625, 3e-3);
    const file = path.join(dir, 'h.safetensors');
    await writeSafetensors(file, [{ name: 'b', dtype: 'BF16', shape: [4] }, { name: 'h', dtype: 'F16', shape: [4] }],
      (n) => (n === 'b' ? f32ToBf16(vals) : f32ToF16(vals)));
    const r = await SafetensorsReader.open(file);
    expect(Array.from(await r.readFloat32('b'))).toEqual(Array.from(bf16ToF32(f32ToBf16(vals))));
    const h = await r.readFloat32('h');
    for (let i = 0; i < 4; i++) expect(h[i]).toBeCloseTo(vals[i], 3);
    await r.close();
  });

  it('rounds float32 to bf16 to nearest even and keeps NaN a NaN', () => {
    const bits = (x: number) => f32ToBf16(f32(x))[0];
    expect(bits(1)).toBe(0x3f80);
    expect(bits(1 + 2 ** -8)).toBe(0x3f80); // halfway, even stays
    expect(bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway, odd rounds up
    expect(Number.isNaN(bf16ToF32(new Uint16Array([bits(NaN)]))[0])).toBe(true);
    expect(Array.from(f16ToF32(f32ToF16(f32(65504, 1e6, 2 ** -24, -0))))).toEqual([65504, Infinity, 2 ** -24, -0]);
  });

  it('opens a sharded checkpoint through its index and a folder holding it', async () => {
    await writeSafetensors(path.join(dir, 'm-00001-of-00002.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }], () => f32(1));
    await writeSafetensors(path.join(dir, 'm-00002-of-00002.safetensors'), [{ name: 'b', dtype: 'F32', shape: [2] }], () => f32(2, 3));
    await writeFile(path.join(dir, 'm.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: { a: 'm-00001-of-00002.safetensors', b: 'm-00002-of-00002.safetensors' } }));
    const r = await SafetensorsReader.open(dir);
    expect(r.files.length).toBe(2);
    expect(Array.from(await r.readFloat32('b'))).toEqual([2, 3]);
    expect(r.get('a')!.file.endsWith('m-00001-of-00002.safetensors')).toBe(true);
    await r.close();
  });

  it('refuses an index whose weight_map names a tensor the shard lacks', async () => {
    await writeSafetensors(path.join(dir, 's1.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }], () => f32(1));
    await writeFile(path.join(dir, 'x.safetensors.index.json'), JSON.stringify({ weight_map: { a: 's1.safetensors', ghost: 's1.safetensors' } }));
    await expect(SafetensorsReader.open(path.join(dir, 'x.safetensors.index.json'))).rejects.toThrow(/ghost/);
  });

  it('refuses a weight_map that is not an object of file names, and names an index shard that is missing', async () => {
    await writeFile(path.join(dir, 'l.safetensors.index.json'), JSON.stringify({ weight_map: ['s1.safetensors'] }));
    await expect(SafetensorsReader.open(path.join(dir, 'l.safetensors.index.json'))).rejects.toThrow(/has no weight_map object/);
    await writeFile(path.join(dir, 'n.safetensors.index.json'), JSON.stringify({ weight_map: { a: 3 } }));
    await expect(SafetensorsReader.open(path.join(dir, 'n.safetensors.index.json'))).rejects.toThrow(/weight_map entry a is not a shard file name/);
    await writeFile(path.join(dir, 'g.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'gone-00009-of-00003.safetensors' } }));
    await expect(SafetensorsReader.open(path.join(dir, 'g.safetensors.index.json'))).rejects.toThrow(/names shard gone-00009-of-00003\.safetensors, which cannot be read/);
  });

  it('in a folder beside diffusers variants, opens the default weights; otherwise names the files it cannot choose between', async () => {
    await writeSafetensors(path.join(dir, 'diffusion_pytorch_model.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }], () => f32(1));
    await writeSafetensors(path.join(dir, 'diffusion_pytorch_model.fp16.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }], () => f32(2));
    const r = await SafetensorsReader.open(dir);
    expect(Array.from(await r.readFloat32('a'))).toEqual([1]);
    await r.close();
    await rm(path.join(dir, 'diffusion_pytorch_model.safetensors'));
    await writeSafetensors(path.join(dir, 'diffusion_pytorch_model.bf16.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }], () => f32(3));
    await expect(SafetensorsReader.open(dir)).rejects.toThrow(
      /holds 2 weight files \(diffusion_pytorch_model\.bf16\.safetensors, diffusion_pytorch_model\.fp16\.safetensors\)/);
  });

  it('refuses a shard path that leaves the folder', async () => {
    await writeFile(path.join(dir, 'y.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../evil.safetensors' } }));
    await expect(SafetensorsReader.open(path.join(dir, 'y.safetensors.index.json'))).rejects.toThrow(/leaves the folder/);
  });

  describe('corrupt headers give clear errors naming the file and the rule', () => {
    const cases: [string, () => Promise<string>, RegExp][] = [
      ['file shorter than 8 bytes', async () => { const f = path.join(dir, 'c.safetensors'); await writeFile(f, Buffer.alloc(3)); return f; }, /shorter than the 8-byte/],
      ['header length past the end', () => rawFile('c.safetensors', '{}', undefined, 1000n), /runs past the end/],
      ['absurd header length', () => rawFile('c.safetensors', '{}', undefined, 2n ** 40n), /outside 2\.\./],
      ['header not JSON', () => rawFile('c.safetensors', '{not json'), /not valid JSON/],
      ['header not UTF-8', async () => {
        const json = Buffer.concat([Buffer.from('{"'), Buffer.from([0xff]), Buffer.from('x":{}}')]);
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        const f = path.join(dir, 'c.safetensors');
        await writeFile(f, Buffer.concat([len, json]));
        return f;
      }, /header is not valid UTF-8/],
      ['header not an object', () => rawFile('c.safetensors', '[1,2]'), /not a JSON object/],
      ['unknown dtype', () => rawFile('c.safetensors', { t: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /unknown dtype F8/],
      ['bad shape', () => rawFile('c.safetensors', { t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/],
      ['offsets disagree with shape', () => rawFile('c.safetensors', { t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), /needs 8/],
      ['data past the end', () => rawFile('c.safetensors', { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /past the 4-byte data section/],
      ['overlapping tensors', () => rawFile('c.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /overlap/],
    ];
    for (const [what, make, msg] of cases) {
      it(what, async () => {
        const f = await make();
        const err = await SafetensorsReader.open(f).catch((e: Error & { code?: string }) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error & { code: string }).code).toBe('C3S_ERR_SAFETENSORS');
        expect((err as Error).message).toMatch(msg);
        expect((err as Error).message).toContain(f);
      });
    }
  });

  it('writes files it can read back byte for byte', async () => {
    const file = path.join(dir, 'w.safetensors');
    await writeSafetensors(file, [{ name: 'i', dtype: 'I64', shape: [2] }], () => new BigInt64Array([1n, -2n]));
    const buf = await readFile(file);
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    expect(header.i).toEqual({ dtype: 'I64', shape: [2], data_offsets: [0, 16] });
    expect(buf.readBigInt64LE(8 + n + 8)).toBe(-2n);
  });
});
