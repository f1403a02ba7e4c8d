import { describe, expect, it } from 'vitest';
import { smallSpec } from '../support/pipeline-setup.js';
import { expectCancellation, expectSeedDeterminism, expectStepProgress, runWithFakes } from '../support/pipeline-modes.js';

const spec = smallSpec({ mode: 'text2image', numFrames: 1, height: 64, width: 64, numSteps: 3, guidance: 4, shift: 3 });

describe('text2image', () => {
  it('generates one latent frame and decodes one image at the output size', async () => {
    const { nets, progress, result } = await runWithFakes(spec, {});
    expect(nets.denoiser.calls).toHaveLength(6);
    expect(nets.denoiser.calls[0].visionShape).toEqual([1, 48, 1, 4, 4]);
    expect(nets.denoiser.calls[0].visionNoisy).toEqual([1]);
    expect(nets.vae.encoded).toHaveLength(0);
    expect([result.frames.frames, result.frames.height, result.frames.width]).toEqual([1, 64, 64]);
    expect(result.frames.data).toHaveLength(64 * 64 * 3);
    expect(result.actions).toBeUndefined();
    expectStepProgress(progress, 3);
  });

  it('is deterministic per seed', () => expectSeedDeterminism(spec, {}));
  it('stops between steps when cancelled', () => expectCancellation(spec, {}, 2));
});
