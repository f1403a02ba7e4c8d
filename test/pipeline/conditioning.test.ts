import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/shared/index.js';
import { mixCleanActions, mixCleanFrames, padActions, trimActions } from '../../src/pipeline/conditioning.js';
import { loadCase, readTinyJson } from '../support/pipeline-fixtures.js';
import { relL2 } from '../../src/shared/index.js';

describe('conditioning helpers', () => {
  it('e2e_i2v: noise with frame 0 replaced by the clean latent is the initial latent', () => {
    const c = loadCase('e2e_i2v');
    const shape = c.shape('initial_latents');
    const clean = tensor(c.f32('x0_normalized'), c.shape('x0_normalized'));
    const mixed = mixCleanFrames(c.f32('noise'), shape, Float32Array.from([0, 1, 1]), clean);
    expect(relL2(mixed.data, c.f32('initial_latents'))).toBe(0);
  });

  it('pads actions: last row repeated, rows cut to the chunk, columns zero-padded', () => {
    expect(Array.from(padActions([[1, 2], [3, 4]], 3, 3))).toEqual([1, 2, 0, 3, 4, 0, 3, 4, 0]);
    expect(Array.from(padActions([[1], [2], [3]], 2, 2))).toEqual([1, 0, 2, 0]);
  });

  it('mixes clean action steps and zeroes columns beyond the raw width', () => {
    const noise = Float32Array.from([9, 9, 9, 9, 9, 9]);
    const clean = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = mixCleanActions(noise, Float32Array.from([0, 1]), clean, 3, 2);
    expect(Array.from(out.data)).toEqual([1, 2, 0, 9, 9, 0]);
    expect(trimActions(out, 2)).toEqual([[1, 2], [9, 9]]);
  });

  it('e2e_action_policy: the action latent entering step 0 has zero columns beyond the raw width', () => {
    const c = loadCase('e2e_action_policy');
    const [steps, width] = c.shape('step0.action_in');
    const raw = c.shape('action_out')[1];
    const a = c.f32('step0.action_in');
    for (let r = 0; r < steps; r++) for (let k = raw; k < width; k++) expect(a[r * width + k]).toBe(0);
    expect(width).toBe(readTinyJson<{ action_dim: number }>('transformer/config.json').action_dim);
  });
});

describe('noisyFrames', () => {
  it('marks the first frames clean and the rest generated', async () => {
    const { noisyFrames } = await import('../../src/pipeline/conditioning.js');
    expect(Array.from(noisyFrames(4, 0))).toEqual([1, 1, 1, 1]);
    expect(Array.from(noisyFrames(4, 1))).toEqual([0, 1, 1, 1]);
    expect(Array.from(noisyFrames(3, 3))).toEqual([0, 0, 0]);
    expect(Array.from(noisyFrames(2, 5))).toEqual([0, 0]);
  });
});
