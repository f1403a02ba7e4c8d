import { describe, expect, it } from 'vitest';
import { smallSpec, solidFrames } from '../support/pipeline-setup.js';
import { expectCancellation, expectSeedDeterminism, expectStepProgress, facts, runWithFakes } from '../support/pipeline-modes.js';

const action = { imageSize: 256, chunkSize: 4, domainName: 'av', domainId: 1, rawDim: 9 };
const spec = smallSpec({ mode: 'forward_dynamics', fps: 12, numSteps: 2, guidance: 1, numFrames: 5, action });
// 80x96 input (H/W 0.83): tier-256 canvas 256x320, content kept, latent crop 5x6
const rows = [Array.from({ length: 9 }, (_, k) => k / 10), Array.from({ length: 9 }, (_, k) => -k / 10)];
const input = { frames: solidFrames(1, 80, 96), actions: rows };

describe('forward_dynamics', () => {
  it('conditions on frame 0 and every action step, generates and decodes the video, returns no actions', async () => {
    const { nets, progress, result } = await runWithFakes(spec, input);
    const calls = nets.denoiser.calls;
    expect(calls).toHaveLength(2);
    expect(nets.vae.encoded).toEqual([[1, 3, 1, 256, 320]]);
    expect(calls[0].visionShape).toEqual([1, 48, 2, 5, 6]);
    expect(calls[0].visionNoisy).toEqual([0, 1]);
    expect(calls[0].actionNoisy).toEqual([0, 0, 0, 0]);
    expect(calls[0].domainId).toBe(1);
    // clean actions: rows padded to actionDim, the last row repeated up to the chunk, never stepped
    const expected = new Float32Array(4 * facts.actionDim);
    for (let r = 0; r < 4; r++) expected.set(rows[Math.min(r, 1)], r * facts.actionDim);
    for (const call of calls) expect(call.actions).toEqual(expected);
    expect(result.actions).toBeUndefined();
    expect(nets.vae.decoded).toEqual([[1, 48, 2, 5, 6]]);
    expect([result.frames.frames, result.frames.height, result.frames.width]).toEqual([5, 80, 96]);
    expectStepProgress(progress, 2);
  });

  it('is deterministic per seed', () => expectSeedDeterminism(spec, input));
  it('stops between steps when cancelled', () => expectCancellation(spec, input, 1));
});
