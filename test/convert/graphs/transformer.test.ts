import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, type Manifest } from '../../../src/convert/index.js';
import { listCases, openCase } from '../../../src/cli/verify/fixture.js';
import { runTransformerCase } from '../../../src/cli/verify/transformer-case.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

describe('transformer graph against the golden tf_* cases', () => {
  let out: string;
  let manifest: Manifest;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-tf-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('converts every variant the config enables', () => {
    expect(Object.keys(manifest.graphs)).toEqual(expect.arrayContaining(['transformer', 'transformer_action', 'transformer_sound']));
  });

  it('matches every tf_* case within 1e-4', async () => {
    const cases = (await listCases(FIXTURE)).filter((c) => c.startsWith('tf_'));
    expect(cases.length).toBeGreaterThan(0);
    for (const name of cases) {
      const c = await openCase(FIXTURE, name);
      try {
        for (const r of await runTransformerCase(c, out, manifest, 1e-4)) {
          expect.soft(r.relErr, `${name} ${r.name}`).toBeLessThan(r.tolerance);
        }
      } finally {
        await c.close();
      }
    }
  });
});
