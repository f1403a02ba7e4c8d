import { describe, expect, it } from 'vitest';
import { normaliseLatents, rgbToSigned } from '../../src/pipeline/index.js';
import { blockVae } from '../support/pipeline-fakes.js';
import { smallSpec, solidFrames } from '../support/pipeline-setup.js';
import { expectCancellation, expectSeedDeterminism, expectStepProgress, facts, runWithFakes } from '../support/pipeline-modes.js';

const spec = smallSpec({ mode: 'image2video', numFrames: 9, height: 64, width: 96, numSteps: 3, guidance: 3, fps: 16 });
const input = { frames: solidFrames(1, 64, 96) };

describe('image2video', () => {
  it('keeps latent frame 0 clean (the encoded image) and generates the rest', async () => {
    const { nets, progress, result } = await runWithFakes(spec, input);
    expect(nets.vae.encoded).toEqual([[1, 3, 1, 64, 96]]);
    const vae = blockVae(facts.latentChannels);
    const clean = normaliseLatents(await vae.encode(rgbToSigned(input.frames)), vae.latentsMean, vae.latentsStd);
    const plane = 4 * 6;
    const frame0 = (x: Float32Array) => Array.from({ length: 48 }, (_, c) => Array.from(x.subarray(c * 3 * plane, c * 3 * plane + plane))).flat();
    const calls = nets.denoiser.calls;
    expect(calls[0].visionNoisy).toEqual([0, 1, 1]);
    expect(frame0(calls[0].vision)).toEqual(Array.from(clean.data));
    // velocity is zeroed on the clean frame, so the solver leaves it (to rounding) where it was
    const last = frame0(calls[calls.length - 1].vision);
    last.forEach((v, i) => expect(v).toBeCloseTo(clean.data[i], 5));
    expect([result.frames.frames, result.frames.height, result.frames.width]).toEqual([9, 64, 96]);
    expectStepProgress(progress, 3);
  });

  it('rejects an image that is not at the output size', async () => {
    await expect(runWithFakes(spec, { frames: solidFrames(1, 32, 96) })).rejects.toThrow(/invariant/);
  });

  it("hands the run's signal to the VAE encode and decode (they check it before each ONNX Runtime run)", async () => {
    const ac = new AbortController();
    const { nets } = await runWithFakes(spec, input, ac.signal);
    expect(nets.vae.signals).toEqual([ac.signal, ac.signal]);
  });

  it('is deterministic per seed', () => expectSeedDeterminism(spec, input));
  it('stops between steps when cancelled', () => expectCancellation(spec, input, 2));
});
