import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TransformerConfigSchema } from '../../src/convert/index.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

describe('TransformerConfigSchema', () => {
  it('reads the mRoPE sections as the reference does: rope_axes_dim, else rope_scaling.mrope_section, else [24, 20, 20]', async () => {
    const cfg = JSON.parse(await readFile(path.join(FIXTURE, 'transformer', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(TransformerConfigSchema.parse(cfg).rope_axes_dim).toEqual([8, 4, 4]); // the fixture's own
    const { rope_axes_dim: _dropped, ...without } = cfg;
    expect(TransformerConfigSchema.parse({ ...without, rope_scaling: { type: 'default', mrope_section: [6, 5, 5] } }).rope_axes_dim).toEqual([6, 5, 5]);
    expect(TransformerConfigSchema.parse({ ...without, rope_axes_dim: null, rope_scaling: null }).rope_axes_dim).toEqual([24, 20, 20]);
    expect(TransformerConfigSchema.parse({ ...cfg, rope_scaling: { mrope_section: [6, 5, 5] } }).rope_axes_dim).toEqual([8, 4, 4]);
    expect(() => TransformerConfigSchema.parse({ ...without, rope_scaling: { mrope_section: [1, 2] } })).toThrow(/mrope_section/);
  });
});
