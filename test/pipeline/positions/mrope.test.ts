import { describe, expect, it } from 'vitest';
import { leadingColumns, mropePositions, sequenceLength, type MropeConfig } from '../../../src/pipeline/positions/index.js';
import { loadCase, maxAbsDiff, readTinyJson, TINY_DIR, type GoldenCase } from '../../support/pipeline-fixtures.js';
import { readdirSync } from 'node:fs';

interface TransformerConfig {
  base_fps: number;
  unified_3d_mrope_temporal_modality_margin: number;
  sound_latent_fps: number;
}
const tcfg = readTinyJson<TransformerConfig>('transformer/config.json');
const vae = readTinyJson<{ scale_factor_temporal?: number }>('vae/config.json');
const config: MropeConfig = {
  baseFps: tcfg.base_fps,
  margin: tcfg.unified_3d_mrope_temporal_modality_margin,
  temporalFactor: vae.scale_factor_temporal ?? 4,
  soundLatentFps: tcfg.sound_latent_fps,
};

function check(c: GoldenCase, prefix: string, fps: number): number {
  const grid = Array.from(c.i64(`${prefix}vision_token_shapes`), Number);
  const steps = (name: string): number | undefined => (c.has(`${prefix}${name}`) ? Number(c.i64(`${prefix}${name}`)[0]) : undefined);
  const seq = {
    textLength: c.shape(`${prefix}input_ids`)[0],
    vision: { frames: grid[0], rows: grid[1], cols: grid[2] },
    fps,
    soundTokens: steps('sound_token_shapes'),
    actionSteps: steps('action_token_shapes'),
  };
  const want = c.f32(`${prefix}position_ids`);
  expect(sequenceLength(seq)).toBe(c.shape(`${prefix}position_ids`)[1]);
  const got = mropePositions(config, seq);
  return maxAbsDiff(got, want);
}

const tfCases = readdirSync(TINY_DIR)
  .filter((f) => f.startsWith('tf_') && f.endsWith('.json'))
  .map((f) => f.replace('.json', ''));

describe('mropePositions', () => {
  it('finds the transformer cases', () => expect(tfCases.length).toBeGreaterThanOrEqual(8));
  for (const name of tfCases) {
    it(`${name}: exactly the reference position_ids`, () => {
      const c = loadCase(name);
      expect(check(c, '', c.scalars.fps as number)).toBe(0);
    });
  }
  for (const name of ['e2e_t2v', 'e2e_i2v', 'e2e_action_policy']) {
    it(`${name}: step-0 cond/uncond position_ids exactly`, () => {
      const c = loadCase(name);
      const fps = (c.scalars.pipeline_call as { fps?: number }).fps ?? 24;
      expect(check(c, 'step0_cond.', fps)).toBe(0);
      if (c.has('step0_uncond.position_ids')) expect(check(c, 'step0_uncond.', fps)).toBe(0);
    });
  }
  it('a single action step sits at offset + 1 and a single frame at the offset', () => {
    const p = mropePositions(config, { textLength: 2, vision: { frames: 1, rows: 1, cols: 1 }, fps: 10, actionSteps: 1 });
    expect(Array.from(p)).toEqual([0, 1, 15002, 15003, 0, 1, 0, 0, 0, 1, 0, 0]);
  });
});

describe('leadingColumns', () => {
  it('takes the first n columns of each of the three rows', () => {
    const p = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]); // [3, 4]
    expect(Array.from(leadingColumns(p, 2))).toEqual([0, 1, 10, 11, 20, 21]);
    expect(Array.from(leadingColumns(p, 4))).toEqual(Array.from(p));
    expect(leadingColumns(p, 0)).toHaveLength(0);
  });
});
