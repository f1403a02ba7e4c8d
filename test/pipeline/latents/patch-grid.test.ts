import { describe, expect, it } from 'vitest';
import { latentFrameCount, patchGrid } from '../../../src/pipeline/latents/index.js';
import { loadCase, toNumbers } from '../../support/pipeline-fixtures.js';

describe('patchGrid', () => {
  for (const name of ['tf_t2v', 'tf_t2v_odd', 'tf_t2i']) {
    it(`${name}: the reference vision_token_shapes`, () => {
      const c = loadCase(name);
      const g = patchGrid(c.shape('vision_tokens_0'), 2);
      expect([g.frames, g.rows, g.cols]).toEqual(toNumbers(c.i64('vision_token_shapes')));
    });
  }
  it('latent frames of 4k+1 clips', () => {
    expect(latentFrameCount(17, 4)).toBe(5);
    expect(latentFrameCount(1, 4)).toBe(1);
    expect(() => latentFrameCount(16, 4)).toThrow(RangeError);
    expect(() => patchGrid([48, 3, 4, 6], 2)).toThrow(RangeError);
  });
});
