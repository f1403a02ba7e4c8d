import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, decodeModel, float, encodeValues } from '../../../src/convert/onnx/index.js';

describe('GraphBuilder', () => {
  it('builds a graph that ONNX Runtime runs, with constants, attributes and dynamic dims', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', ['n', 3]);
    const w = g.initializer('w', 'float32', [2, 3], encodeValues([1, 2, 3, 4, 5, 6], 'float32'));
    const y = g.op('Gemm', [x, w], { transB: 1, alpha: float(0.5) });
    const z = g.op('Add', [y, g.scalar(1)]);
    g.output(z, 'y', 'float32', ['n', 2]);
    const bytes = g.serialize({ '': 17 }, { producerVersion: 'test' });
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 0, 1, 0]), [2, 3]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([4, 8.5, 2, 3.5]);
    expect(out.y.dims).toEqual([2, 2]);
    await s.release();
  });

  it('deduplicates equal constants and refuses wrongly sized initializers', () => {
    const g = new GraphBuilder('t');
    expect(g.i64([1, 2])).toBe(g.i64([1, 2]));
    expect(g.i64([1, 2])).not.toBe(g.i64([2, 1]));
    expect(() => g.initializer('bad', 'float32', [3], new Uint8Array(8))).toThrow(/needs 12/);
    expect(() => g.op('LeakyRelu', ['a'], { alpha: 0.1 })).toThrow(/float\(\)/);
  });

  it('writes external-data references and metadata that decode back', () => {
    const g = new GraphBuilder('ext');
    const x = g.input('x', 'float32', [4]);
    g.initializer('w', 'bfloat16', [4], { location: 'weights.bin', offset: 64, length: 8 });
    g.output(g.op('Identity', [x]), 'y', 'float32', [4]);
    const m = decodeModel(g.serialize({ '': 23, 'com.microsoft': 1 }, { producerVersion: '1', metadata: { a: 'b' } })) as {
      graph: { initializer: { name: string; dataLocation: number; externalData: { key: string; value: string }[]; dataType: number }[] };
      metadataProps: { key: string; value: string }[];
      opsetImport: { domain?: string; version: number }[];
    };
    const init = m.graph.initializer[0];
    expect(init.dataLocation).toBe(1);
    expect(init.dataType).toBe(16);
    expect(Object.fromEntries(init.externalData.map((e) => [e.key, e.value]))).toEqual({ location: 'weights.bin', offset: '64', length: '8' });
    expect(m.metadataProps).toEqual([{ key: 'a', value: 'b' }]);
    expect(m.opsetImport.map((o) => o.version)).toEqual([23, 1]);
  });

  it('refuses a node domain missing from the opsets', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', [1]);
    g.output(g.op('FastGelu', [x], {}, { domain: 'com.microsoft' }), 'y', 'float32', [1]);
    expect(() => g.serialize({ '': 17 }, { producerVersion: '1' })).toThrow(/com.microsoft/);
  });
});
