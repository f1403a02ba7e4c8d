import { GraphBuilder } from '/work/main/dist/src/convert/onnx/index.js';
import * as ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';
const g = new GraphBuilder('t');
const x = g.input('x', 'float16', [4]);
g.output(g.op('Identity', [x]), 'y', 'float16', [4]);
writeFileSync('/tmp/f16id.onnx', g.serialize({ '': 23 }, { producerVersion: '1' }));
const s = await ort.InferenceSession.create('/tmp/f16id.onnx');
try {
  const t = new ort.Tensor('float16', new Uint16Array([0x3c00, 0x4000, 0, 1]), [4]);
  console.log('input data', t.data.constructor.name);
  const r = await s.run({ x: t });
  console.log('ok', r.y.data.constructor.name, Array.from(new Uint16Array(r.y.data.buffer, r.y.data.byteOffset, 4)));
} catch (e) { console.log('FAIL', e.message); }
