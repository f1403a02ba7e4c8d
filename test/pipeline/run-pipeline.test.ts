import { describe, expect, it } from 'vitest';
import { createPipelines } from '../../src/pipeline/index.js';
import type { JobProgress } from '../../src/shared/index.js';
import { loadCase, maxAbsDiff, toNumbers } from '../support/pipeline-fixtures.js';
import { fakeNetworks } from '../support/pipeline-fakes.js';
import { smallSpec, tinyFacts } from '../support/pipeline-setup.js';
import { tinyPromptEncoder } from '../support/pipeline-text.js';

const facts = tinyFacts();
const { runPipeline } = createPipelines(facts);
const text = tinyPromptEncoder();

function sameIds(a: BigInt64Array, b: BigInt64Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('runPipeline composes the reference inputs of the e2e cases', () => {
  it('e2e_t2v: ids, positions, timesteps and shapes the transformer sees', async () => {
    const c = loadCase('e2e_t2v');
    const call = c.scalars.pipeline_call as { prompt: string; negative_prompt: string; num_frames: number; height: number; width: number; fps: number; num_inference_steps: number; guidance_scale: number };
    const nets = fakeNetworks(facts.latentChannels);
    const progress: JobProgress[] = [];
    const result = await runPipeline(
      smallSpec({ prompt: call.prompt, negativePrompt: call.negative_prompt, numFrames: call.num_frames, height: call.height, width: call.width, fps: call.fps, numSteps: call.num_inference_steps, guidance: call.guidance_scale }),
      {},
      nets,
      text,
      { onProgress: (p) => progress.push(p) },
    );
    const calls = nets.denoiser.calls;
    expect(calls).toHaveLength(2 * call.num_inference_steps);
    const cond = calls.filter((k) => sameIds(k.inputIds, c.i64('cond_input_ids')));
    const uncond = calls.filter((k) => sameIds(k.inputIds, c.i64('uncond_input_ids')));
    expect(cond).toHaveLength(call.num_inference_steps);
    expect(uncond).toHaveLength(call.num_inference_steps);
    expect(maxAbsDiff(cond[0].positions, c.f32('step0_cond.position_ids'))).toBe(0);
    expect(maxAbsDiff(uncond[0].positions, c.f32('step0_uncond.position_ids'))).toBe(0);
    expect(cond.map((k) => k.timestep)).toEqual(toNumbers(c.i64('timesteps')));
    expect(cond[0].visionShape).toEqual(c.shape('initial_latents'));
    expect(cond[0].visionNoisy).toEqual([1, 1, 1, 1, 1]);
    expect(nets.vae.encoded).toHaveLength(0);
    expect([result.frames.frames, result.frames.height, result.frames.width]).toEqual([call.num_frames, call.height, call.width]);
    expect(Object.keys(result.timings).sort()).toEqual(['noise', 'sampling', 'tokenize', 'vae_decode']);
    expect(progress.filter((p) => p.stage === 'sampling').map((p) => p.step)).toEqual([0, 1, 2, 3]);
  });

  it('a run stopped while sampling leaves the stages it went through in hooks.timings, the interrupted one included', async () => {
    const nets = fakeNetworks(facts.latentChannels);
    const controller = new AbortController();
    const timings: Record<string, number> = {};
    const run = runPipeline(smallSpec({ numSteps: 6 }), {}, nets, text, {
      signal: controller.signal,
      timings,
      onProgress: (p) => {
        if (p.stage === 'sampling' && p.step === 2) controller.abort(new Error('stop'));
      },
    });
    await expect(run).rejects.toThrow('stop');
    expect(Object.keys(timings).sort()).toEqual(['noise', 'sampling', 'tokenize']);
    expect(timings.sampling).toBeGreaterThanOrEqual(0);
  });

  it('e2e_i2v: frame 0 clean, the image encoded once, reference ids and positions', async () => {
    const c = loadCase('e2e_i2v');
    const call = c.scalars.pipeline_call as { prompt: string; negative_prompt: string; num_frames: number; height: number; width: number; fps: number; num_inference_steps: number; guidance_scale: number };
    const nets = fakeNetworks(facts.latentChannels);
    const image = { data: c.u8('image_uint8'), frames: 1, height: call.height, width: call.width };
    await runPipeline(
      smallSpec({ mode: 'image2video', prompt: call.prompt, negativePrompt: call.negative_prompt, numFrames: call.num_frames, height: call.height, width: call.width, fps: call.fps, numSteps: call.num_inference_steps, guidance: call.guidance_scale }),
      { frames: image },
      nets,
      text,
    );
    const calls = nets.denoiser.calls;
    const cond = calls.find((k) => sameIds(k.inputIds, c.i64('cond_input_ids')));
    const uncond = calls.find((k) => sameIds(k.inputIds, c.i64('uncond_input_ids')));
    expect(cond && uncond).toBeTruthy();
    expect(maxAbsDiff(cond!.positions, c.f32('step0_cond.position_ids'))).toBe(0);
    expect(maxAbsDiff(uncond!.positions, c.f32('step0_uncond.position_ids'))).toBe(0);
    expect(cond!.visionNoisy).toEqual([0, 1, 1]);
    expect(nets.vae.encoded).toEqual([[1, 3, 1, call.height, call.width]]);
  });

  it('e2e_action_policy: canvas, crop, caption ids, action tokens and positions', async () => {
    const c = loadCase('e2e_action_policy');
    const call = c.scalars.pipeline_call as { prompt: string; fps: number; num_inference_steps: number; guidance_scale: number; action: { chunk_size: number; resolution_tier: number } };
    const [h, w] = c.shape('image_uint8');
    const nets = fakeNetworks(facts.latentChannels);
    const rawDim = c.shape('action_out')[1];
    const result = await runPipeline(
      smallSpec({
        mode: 'policy',
        prompt: call.prompt,
        fps: call.fps,
        numSteps: call.num_inference_steps,
        guidance: call.guidance_scale,
        numFrames: call.action.chunk_size + 1,
        action: { imageSize: call.action.resolution_tier, chunkSize: call.action.chunk_size, domainName: 'bridge_orig_lerobot', domainId: 7, rawDim },
      }),
      { frames: { data: c.u8('image_uint8'), frames: 1, height: h, width: w } },
      nets,
      text,
    );
    const calls = nets.denoiser.calls;
    expect(calls).toHaveLength(call.num_inference_steps);
    expect(toNumbers(calls[0].inputIds as BigInt64Array)).toEqual(toNumbers(c.i64('cond_input_ids')));
    expect(maxAbsDiff(calls[0].positions, c.f32('step0_cond.position_ids'))).toBe(0);
    expect(calls[0].visionShape).toEqual(c.shape('initial_latents'));
    expect(calls[0].visionNoisy).toEqual([0, 1]);
    expect(calls[0].actionShape).toEqual(c.shape('step0.action_in'));
    expect(calls[0].actionNoisy).toEqual([1, 1, 1, 1]);
    expect(calls[0].domainId).toBe(Number(c.i64('step0_cond.action_domain_ids_0')[0]));
    expect(nets.vae.encoded).toEqual([c.shape('vae_encode_in_frame0')]);
    expect(nets.vae.decoded).toHaveLength(0);
    expect(result.actions).toHaveLength(call.action.chunk_size);
    expect(result.actions![0]).toHaveLength(rawDim);
    expect([result.frames.frames, result.frames.height, result.frames.width]).toEqual([call.action.chunk_size + 1, h, w]);
  });
});
