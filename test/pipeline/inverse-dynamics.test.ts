import { describe, expect, it } from 'vitest';
import { smallSpec, solidFrames } from '../support/pipeline-setup.js';
import { expectCancellation, expectSeedDeterminism, expectStepProgress, facts, runWithFakes } from '../support/pipeline-modes.js';

const action = { imageSize: 256, chunkSize: 8, domainName: 'droid_lerobot', domainId: 8, rawDim: 10 };
const spec = smallSpec({ mode: 'inverse_dynamics', fps: 24, numSteps: 3, guidance: 1, numFrames: 9, action });
const input = { frames: solidFrames(9, 64, 80) };

describe('inverse_dynamics', () => {
  it('keeps every frame clean, generates the actions and echoes the clip', async () => {
    const { nets, progress, result } = await runWithFakes(spec, input);
    const calls = nets.denoiser.calls;
    expect(calls).toHaveLength(3);
    expect(nets.vae.encoded).toEqual([[1, 3, 9, 256, 320]]);
    expect(calls[0].visionShape).toEqual([1, 48, 3, 4, 5]);
    expect(calls[0].visionNoisy).toEqual([0, 0, 0]);
    expect(calls[0].actionShape).toEqual([8, facts.actionDim]);
    expect(calls[0].actionNoisy).toEqual(Array(8).fill(1));
    for (const call of calls) {
      for (let r = 0; r < 8; r++) for (let k = 10; k < facts.actionDim; k++) expect(call.actions![r * facts.actionDim + k]).toBe(0);
    }
    expect(calls[1].actions).not.toEqual(calls[0].actions);
    expect(result.actions).toHaveLength(8);
    expect(result.actions!.every((row) => row.length === 10)).toBe(true);
    expect(nets.vae.decoded).toHaveLength(0);
    expect(result.frames.data).toEqual(input.frames.data);
    expectStepProgress(progress, 3);
  });

  it('pads a short clip by repeating its last frame', async () => {
    const { nets, result } = await runWithFakes(spec, { frames: solidFrames(3, 64, 80) });
    expect(nets.vae.encoded).toEqual([[1, 3, 9, 256, 320]]);
    expect(result.frames.frames).toBe(9);
  });

  it('is deterministic per seed', () => expectSeedDeterminism(spec, input));
  it('stops between steps when cancelled', () => expectCancellation(spec, input, 1));
});
