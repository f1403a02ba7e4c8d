import { describe, expect, it } from 'vitest';
import { relL2, tensor } from '../../src/shared/index.js';
import { sample, type SampleInputs } from '../../src/pipeline/sample.js';
import { flowSchedule, DEFAULT_UNIPC } from '../../src/pipeline/scheduler/index.js';
import { loadCase, readTinyJson, toNumbers } from '../support/pipeline-fixtures.js';
import { affineDenoiser, goldenDenoiser } from '../support/pipeline-fakes.js';
import type { Denoiser } from '../../src/pipeline/networks.js';

const scfg = readTinyJson<{ num_train_timesteps: number; flow_shift: number }>('scheduler/scheduler_config.json');
const TOLERANCE = 1e-4;

function noisyMask(length: number, noisy: number[]): Float32Array {
  return Float32Array.from({ length }, (_, i) => (noisy.includes(i) ? 1 : 0));
}

describe('denoising loop against the golden e2e cases (replayed velocities)', () => {
  for (const name of ['e2e_t2v', 'e2e_i2v', 'e2e_action_policy']) {
    it(`${name}: every step's latents (and actions) within rel L2 ${TOLERANCE}`, async () => {
      const c = loadCase(name);
      const call = c.scalars.pipeline_call as { num_inference_steps: number; guidance_scale?: number };
      const schedule = flowSchedule(call.num_inference_steps, scfg.flow_shift, { numTrainTimesteps: scfg.num_train_timesteps, native: false });
      expect(schedule.timesteps).toEqual(toNumbers(c.i64('timesteps')));
      expect(Array.from(schedule.sigmas)).toEqual(Array.from(c.f32('sigmas')));
      const shape = c.shape('initial_latents');
      const hasActions = c.has('step0.action_in');
      const rawDim = hasActions ? c.shape('action_out')[1] : 0;
      const inputs: SampleInputs = {
        cond: { inputIds: c.i64('cond_input_ids'), positions: new Float32Array(0) },
        uncond: { inputIds: c.has('uncond_input_ids') ? c.i64('uncond_input_ids') : new BigInt64Array(1), positions: new Float32Array(0) },
        vision: tensor(Float32Array.from(c.f32('initial_latents')), shape),
        visionNoisy: noisyMask(shape[2], toNumbers(c.i64('step0_cond.vision_noisy_frame_indexes_0'))),
        actions: hasActions
          ? {
              latents: tensor(Float32Array.from(c.f32('step0.action_in')), c.shape('step0.action_in')),
              noisy: noisyMask(c.shape('step0.action_in')[0], toNumbers(c.i64('step0_cond.action_noisy_frame_indexes_0'))),
              domainId: Number(c.i64('step0_cond.action_domain_ids_0')[0]),
              rawDim,
            }
          : undefined,
        timesteps: schedule.timesteps,
        sigmas: schedule.sigmas,
        guidance: call.guidance_scale ?? 1,
        solver: DEFAULT_UNIPC,
      };
      const denoiser = goldenDenoiser(c);
      const errors: string[] = [];
      const steps = schedule.timesteps.length;
      const out = await sample(denoiser, inputs, {
        onStep(done, total, state) {
          expect(total).toBe(steps);
          const i = done - 1;
          const e = relL2(state.vision.data, c.f32(`step${i}.latents_out`));
          errors.push(`step${i} latents ${e.toExponential(2)}`);
          expect(e).toBeLessThanOrEqual(TOLERANCE);
          if (state.actions) {
            const next = `step${i + 1}.action_in`;
            if (c.has(next)) {
              const ea = relL2(state.actions.data, c.f32(next));
              errors.push(`action_in${i + 1} ${ea.toExponential(2)}`);
              expect(ea).toBeLessThanOrEqual(TOLERANCE);
            }
          }
        },
      });
      expect(denoiser.calls).toBe(steps * (inputs.guidance === 1 ? 1 : 2));
      for (const e of denoiser.inputErrors) expect(e.vision).toBeLessThanOrEqual(TOLERANCE);
      const ef = relL2(out.vision.data, c.f32('final_latents'));
      errors.push(`final ${ef.toExponential(2)}`);
      expect(ef).toBeLessThanOrEqual(TOLERANCE);
      if (out.actions) {
        const [a, d] = out.actions.shape;
        const trimmed = Float32Array.from({ length: a * rawDim }, (_, k) => out.actions!.data[Math.floor(k / rawDim) * d + (k % rawDim)]);
        const eo = relL2(trimmed, c.f32('action_out'));
        errors.push(`action_out ${eo.toExponential(2)}`);
        expect(eo).toBeLessThanOrEqual(TOLERANCE);
        for (let r = 0; r < a; r++) for (let k = rawDim; k < d; k++) expect(out.actions.data[r * d + k]).toBe(0);
      }
      console.info(`${name}: ${errors.join(', ')}`);
    });
  }

  /** e2e_t2v's initial latent, all frames noisy, CFG 4, over `steps` flow steps with these prompts' ids. */
  function guided(steps: number, shift: number, cond: BigInt64Array, uncond: BigInt64Array): SampleInputs {
    const c = loadCase('e2e_t2v');
    const shape = c.shape('initial_latents');
    const schedule = flowSchedule(steps, shift, { numTrainTimesteps: 1000, native: false });
    return {
      cond: { inputIds: cond, positions: new Float32Array(0) },
      uncond: { inputIds: uncond, positions: new Float32Array(0) },
      vision: tensor(Float32Array.from(c.f32('initial_latents')), shape),
      visionNoisy: new Float32Array(shape[2]).fill(1),
      timesteps: schedule.timesteps,
      sigmas: schedule.sigmas,
      guidance: 4,
      solver: DEFAULT_UNIPC,
    };
  }

  it('stops between steps when the signal is aborted', async () => {
    const c = loadCase('e2e_t2v');
    const controller = new AbortController();
    const denoiser = goldenDenoiser(c);
    const run = sample(denoiser, guided(3, 10, c.i64('cond_input_ids'), c.i64('uncond_input_ids')), {
      signal: controller.signal,
      onStep: (done) => done === 1 && controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(denoiser.calls).toBe(2);
  });

  it('runs both guidance passes through runPair when the denoiser offers it, with the same result', async () => {
    const inputs = guided(4, 5, BigInt64Array.from([1n, 2n, 3n]), BigInt64Array.from([4n]));
    const plain = affineDenoiser();
    const ref = await sample(plain, inputs);
    expect(plain.calls).toHaveLength(8);

    const pairs: [bigint[], bigint[]][] = [];
    const inner = affineDenoiser();
    const paired: Denoiser = {
      run: (i) => inner.run(i),
      async runPair(cond, uncond) {
        expect(uncond.visionLatents.data).toBe(cond.visionLatents.data);
        pairs.push([Array.from(cond.inputIds), Array.from(uncond.inputIds)]);
        return [await inner.run(cond), await inner.run(uncond)];
      },
    };
    const out = await sample(paired, inputs);
    expect(pairs).toEqual(Array.from({ length: 4 }, () => [[1n, 2n, 3n], [4n]]));
    expect(Array.from(out.vision.data)).toEqual(Array.from(ref.vision.data));

    // a denoiser that declines (undefined) gets the two passes one by one; guidance 1 never asks
    let asked = 0;
    const declining: Denoiser = { run: (i) => inner.run(i), runPair: async () => (asked++, undefined) };
    expect(Array.from((await sample(declining, inputs)).vision.data)).toEqual(Array.from(ref.vision.data));
    expect(asked).toBe(4);
    asked = 0;
    await sample(declining, { ...inputs, guidance: 1 });
    expect(asked).toBe(0);
  });
});
