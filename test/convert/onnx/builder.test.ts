import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, decodeModel, float, encodeValues, graph } from '../../../src/convert/onnx/index.js';

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

  it('builds a Loop whose body reads an outer initializer, carries state and emits a scan output', async () => {
    const g = new GraphBuilder('loop');
    const x = g.input('x', 'float32', [1, 'n']);
    const trips = g.input('trips', 'int64', []);
    const w = g.initializer('w', 'float32', [1, 2], encodeValues([1, 2], 'float32'));
    const body = g.subgraph('body');
    body.input(body.fresh('iter'), 'int64', []);
    const cond = body.input(body.fresh('cond'), 'bool', []);
    const state = body.input(body.fresh('state'), 'float32', [1, 'n']);
    const next = body.op('Add', [state, w]); // outer-scope initializer
    body.output(cond, body.fresh('cond_out'), 'bool', []);
    body.output(next, body.fresh('state_out'), 'float32', [1, 'n']);
    body.output(body.op('Mul', [next, body.scalar(10)]), body.fresh('scan'), 'float32', [1, 'n']);
    expect(body.inputs.every((v) => v.name.startsWith(`${body.name}/`))).toBe(true);
    const [final, scan] = g.node('Loop', [trips, '', x], { body: graph(body) }, { outputs: 2 });
    g.output(final, 'final', 'float32', [1, 'n']);
    g.output(scan, 'scan', 'float32', ['trips', 1, 'n']);
    const bytes = g.serialize({ '': 23 }, { producerVersion: 'test' });
    const m = decodeModel(bytes) as { graph: { initializer: { name: string }[]; node: { opType: string; attribute: { type: number; g: { initializer?: unknown[] } }[] }[] } };
    expect(m.graph.initializer.map((i) => i.name)).toEqual(expect.arrayContaining(['w']));
    const loop = m.graph.node.find((n) => n.opType === 'Loop')!;
    expect(loop.attribute[0].type).toBe(5);
    expect(loop.attribute[0].g.initializer ?? []).toEqual([]); // the body's constants live in the root graph
    const s = await ort.InferenceSession.create(bytes);
    try {
      const feeds = (n: number) => ({ x: new ort.Tensor('float32', new Float32Array([0.5, -1]), [1, 2]), trips: new ort.Tensor('int64', BigInt64Array.from([BigInt(n)]), []) });
      const out = await s.run(feeds(3));
      expect(Array.from(out.final.data as Float32Array)).toEqual([3.5, 5]);
      expect(out.scan.dims).toEqual([3, 1, 2]);
      expect(Array.from(out.scan.data as Float32Array)).toEqual([15, 10, 25, 30, 35, 50]);
      const none = await s.run(feeds(0));
      expect(Array.from(none.final.data as Float32Array)).toEqual([0.5, -1]);
      expect(none.scan.dims[0]).toBe(0);
    } finally {
      await s.release();
    }
  });

  it('refuses to serialize a subgraph on its own', () => {
    const g = new GraphBuilder('t');
    expect(() => g.subgraph('b').serialize({ '': 23 }, { producerVersion: '1' })).toThrow(/subgraph/);
  });
});
