import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../../src/convert/onnx/index.js';
import { OrtSession } from '../../../src/engine/ort/index.js';

/** float16 x → Identity → y, and y2 = Cast(x) to float32. */
async function float16Model(file: string): Promise<void> {
  const g = new GraphBuilder('f16');
  const x = g.input('x', 'float16', [4]);
  g.output(g.op('Identity', [x]), 'y', 'float16', [4]);
  g.output(g.op('Cast', [x], { to: 1 }), 'y32', 'float32', [4]);
  await writeFile(file, g.serialize({ '': 23 }, { producerVersion: 'test' }));
}

describe('OrtSession', () => {
  let dir: string;
  let session: OrtSession;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-session-'));
    await float16Model(path.join(dir, 'f16.onnx'));
    session = await OrtSession.create(path.join(dir, 'f16.onnx'), { device: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    await session?.release();
    await rm(dir, { recursive: true, force: true });
  });

  // Node.js 24 has Float16Array, which onnxruntime-common would use and the 1.29 binding cannot read
  it(`takes and gives float16 as Uint16Array words on Node.js ${process.versions.node}`, async () => {
    const words = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x7bff]); // 1, -2, ~0.333, 65504
    const out = await session.run({ x: { data: words, shape: [4] } });
    expect(out.y.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(out.y.data as Uint16Array)).toEqual(Array.from(words));
    expect(Array.from(out.y32.data as Float32Array)).toEqual([1, -2, 0.333251953125, 65504]);
  });

  it('names a missing or unknown input', async () => {
    await expect(session.run({})).rejects.toThrow("input 'x' is missing");
    await expect(session.run({ x: { data: new Uint16Array(4), shape: [4] }, z: { data: new Float32Array(1), shape: [1] } })).rejects.toThrow("'z' is not an input of this graph");
  });
});
