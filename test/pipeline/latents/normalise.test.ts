import { describe, expect, it } from 'vitest';
import { relL2, tensor } from '../../../src/shared/index.js';
import { denormaliseLatents, normaliseLatents } from '../../../src/pipeline/latents/index.js';
import { loadCase, readTinyJson } from '../../support/pipeline-fixtures.js';

const vae = readTinyJson<{ latents_mean: number[]; latents_std: number[] }>('vae/config.json');
const mean = Float32Array.from(vae.latents_mean);
const std = Float32Array.from(vae.latents_std);

describe('latent normalisation', () => {
  for (const name of ['e2e_t2v', 'e2e_i2v', 'e2e_action_policy']) {
    it(`${name}: denormalise(final_latents) is the VAE decoder input`, () => {
      const c = loadCase(name);
      const z = tensor(c.f32('final_latents'), c.shape('final_latents'));
      const got = denormaliseLatents(z, mean, std);
      const err = relL2(got.data, c.f32('vae_decode_in'));
      expect(err).toBeLessThanOrEqual(1e-7);
    });
  }

  it('normalise inverts denormalise to float32 rounding', () => {
    const c = loadCase('e2e_i2v');
    const z = tensor(c.f32('x0_normalized'), c.shape('x0_normalized'));
    const back = normaliseLatents(denormaliseLatents(z, mean, std), mean, std);
    expect(relL2(back.data, z.data)).toBeLessThan(1e-6);
  });

  it('checks the channel count', () => {
    expect(() => normaliseLatents(tensor(new Float32Array(6), [1, 2, 1, 1, 3]), mean, std)).toThrow(RangeError);
  });
});
