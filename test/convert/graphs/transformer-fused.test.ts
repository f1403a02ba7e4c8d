import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, type Manifest } from '../../../src/convert/index.js';
import { decodeModel } from '../../../src/convert/onnx/index.js';
import { listCases, openCase } from '../../../src/cli/verify/fixture.js';
import { runTransformerCase, transformerCaseFeeds } from '../../../src/cli/verify/transformer-case.js';
import { OrtSession } from '../../../src/engine/ort/index.js';
import { relL2, type HostTensor, type TensorData } from '../../../src/shared/index.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');
const FUSED_OPS = ['RotaryEmbedding', 'QuickGelu', 'SkipSimplifiedLayerNormalization'];

async function opTypes(model: string): Promise<Map<string, number>> {
  const m = decodeModel(await readFile(model)) as { graph: { node: { opType: string }[] } };
  const counts = new Map<string, number>();
  for (const n of m.graph.node) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  return counts;
}

describe('fused transformer kernels against the elementwise spelling', () => {
  const dirs: Record<'fused' | 'unfused', { out: string; manifest: Manifest }> = {} as never;
  beforeAll(async () => {
    for (const fused of [true, false]) {
      const out = await mkdtemp(path.join(os.tmpdir(), `c3s-tf-${fused ? 'fused' : 'unfused'}-`));
      const manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false, transformerGraphs: { fused } });
      dirs[fused ? 'fused' : 'unfused'] = { out, manifest };
    }
  });
  afterAll(async () => {
    for (const d of Object.values(dirs)) await rm(d.out, { recursive: true, force: true });
  });

  it('records the choice in the manifest, and only the fused graphs use the fused ops', async () => {
    expect(dirs.fused.manifest.transformerGraphs).toEqual({ fused: true });
    expect(dirs.unfused.manifest.transformerGraphs).toEqual({ fused: false });
    for (const name of ['transformer', 'transformer_text', 'transformer_gen']) {
      const fused = await opTypes(path.join(dirs.fused.out, dirs.fused.manifest.graphs[name].file));
      const plain = await opTypes(path.join(dirs.unfused.out, dirs.unfused.manifest.graphs[name].file));
      for (const op of FUSED_OPS) {
        expect(fused.get(op), `${name} ${op}`).toBeGreaterThan(0);
        expect(plain.has(op), `${name} ${op}`).toBe(false);
      }
      const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      expect(count(fused), name).toBeLessThan(count(plain));
    }
  });

  it('both spellings match every tf_* golden case, and each other within 1e-6', async () => {
    const cases = (await listCases(FIXTURE)).filter((c) => c.startsWith('tf_'));
    expect(cases.length).toBeGreaterThan(0);
    const sessions: OrtSession[] = [];
    try {
      for (const name of cases) {
        const c = await openCase(FIXTURE, name);
        try {
          const outputs: Record<string, HostTensor<TensorData>>[] = [];
          for (const d of [dirs.fused, dirs.unfused]) {
            for (const r of await runTransformerCase(c, d.out, d.manifest, 1e-4)) {
              expect.soft(r.relErr, `${name} ${r.name}`).toBeLessThan(r.tolerance);
            }
            const { variant, feeds } = await transformerCaseFeeds(c);
            const s = await OrtSession.create(path.join(d.out, d.manifest.graphs[`transformer${variant}`].file), { device: 'cpu', threads: 1 });
            sessions.push(s);
            outputs.push(await s.run(feeds));
          }
          for (const key of Object.keys(outputs[0])) {
            expect.soft(relL2(outputs[0][key].data as Float32Array, outputs[1][key].data as Float32Array), `${name} ${key}`).toBeLessThan(1e-6);
          }
        } finally {
          await c.close();
        }
      }
    } finally {
      for (const s of sessions) await s.release();
    }
  });
});
