import { describe, expect, it } from 'vitest';
import { LegacyRandomState } from '../../src/pipeline/index.js';
import { smallSpec, solidFrames } from '../support/pipeline-setup.js';
import { fakeNetworks } from '../support/pipeline-fakes.js';
import { expectCancellation, expectSeedDeterminism, expectStepProgress, facts, pipelines, runWithFakes, text } from '../support/pipeline-modes.js';

const action = { imageSize: 256, chunkSize: 4, domainName: 'bridge_orig_lerobot', domainId: 7, rawDim: 10 };
const spec = smallSpec({ mode: 'policy', fps: 10, numSteps: 2, guidance: 1, numFrames: 5, action });
const input = { frames: solidFrames(1, 96, 128) };

describe('policy', () => {
  it('draws vision then action noise from one RandomState and returns [chunk][rawDim] actions', async () => {
    const { nets, progress, result } = await runWithFakes(spec, input);
    const first = nets.denoiser.calls[0];
    const rng = new LegacyRandomState(spec.seed);
    const visionNoise = rng.standardNormalFloat32([1, 48, 2, 6, 8]);
    const actionNoise = rng.standardNormalFloat32([4, facts.actionDim]);
    for (let r = 0; r < 4; r++) actionNoise.fill(0, r * facts.actionDim + 10, (r + 1) * facts.actionDim);
    expect(first.actions).toEqual(actionNoise);
    const plane = 6 * 8;
    expect(first.vision.subarray(plane, 2 * plane)).toEqual(visionNoise.subarray(plane, 2 * plane)); // channel 0, frame 1
    expect(first.visionNoisy).toEqual([0, 1]);
    expect(result.actions).toHaveLength(4);
    expect(result.actions!.every((row) => row.length === 10)).toBe(true);
    expect(nets.vae.decoded).toHaveLength(0);
    expect(result.frames.frames).toBe(5);
    expectStepProgress(progress, 2);
  });

  it('runs the unconditional pass on the raw negative prompt when guidance is not 1', async () => {
    const { nets } = await runWithFakes({ ...spec, guidance: 2, negativePrompt: 'static' }, input);
    expect(nets.denoiser.calls).toHaveLength(4);
    expect(nets.denoiser.calls[1].inputIds.length).toBeLessThan(nets.denoiser.calls[0].inputIds.length);
  });

  it('refuses a domain wider than the model\'s action width with a 400 on domain_name, before any network runs', async () => {
    // the fixture model pads actions to 16; embodiment_b has 30 values
    const wide = { ...spec, action: { ...action, domainName: 'embodiment_b', domainId: 9, rawDim: 30 } };
    const nets = fakeNetworks(facts.latentChannels);
    const err = await pipelines.runPipeline(wide, input, nets, text, {}).then(() => null, (e: unknown) => e as { code: string; statusCode: number; field: string; message: string });
    expect(err).toMatchObject({ code: 'C3S_ERR_INVALID_FIELD', statusCode: 400, field: 'domain_name' });
    expect(err!.message).toContain(`30 action values, more than the loaded model's action width of ${facts.actionDim}`);
    expect([nets.denoiser.calls.length, nets.vae.encoded.length]).toEqual([0, 0]);
    const served = await runWithFakes({ ...spec, action: { ...action, rawDim: facts.actionDim } }, input); // as wide as the model
    expect(served.result.actions![0]).toHaveLength(facts.actionDim);
  });

  it('is deterministic per seed', () => expectSeedDeterminism(spec, input));
  it('stops between steps when cancelled', () => expectCancellation(spec, input, 1));
});
