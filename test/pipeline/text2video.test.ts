import { describe, expect, it } from 'vitest';
import { LegacyRandomState } from '../../src/pipeline/index.js';
import { smallSpec } from '../support/pipeline-setup.js';
import { expectCancellation, expectSeedDeterminism, expectStepProgress, runWithFakes } from '../support/pipeline-modes.js';

const spec = smallSpec({ mode: 'text2video', numFrames: 9, height: 64, width: 96, numSteps: 2 });

describe('text2video', () => {
  it('draws the initial latent from RandomState(seed) and decodes 4k+1 frames', async () => {
    const { nets, progress, result } = await runWithFakes(spec, {});
    const first = nets.denoiser.calls[0];
    expect(first.visionShape).toEqual([1, 48, 3, 4, 6]);
    expect(first.vision).toEqual(new LegacyRandomState(spec.seed).standardNormalFloat32([1, 48, 3, 4, 6]));
    expect(nets.vae.decoded).toEqual([[1, 48, 3, 4, 6]]);
    expect([result.frames.frames, result.frames.height, result.frames.width]).toEqual([9, 64, 96]);
    expectStepProgress(progress, 2);
  });

  it('skips the unconditional pass when guidance is exactly 1', async () => {
    const { nets } = await runWithFakes({ ...spec, guidance: 1 }, {});
    expect(nets.denoiser.calls).toHaveLength(2);
  });

  it('is deterministic per seed', () => expectSeedDeterminism(spec, {}));
  it('stops between steps when cancelled', () => expectCancellation(spec, {}, 2));
});
