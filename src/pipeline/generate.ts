import { assert, type HostTensor, type JobProgress, type PipelineResult, type RgbFrames } from '../shared/index.js';
import { throwIfAborted } from './abort.js';
import { decodeLatents, mixCleanActions, mixCleanFrames, trimActions } from './conditioning.js';
import type { PipelineContext } from './context.js';
import { patchGrid } from './latents/index.js';
import { LegacyRandomState } from './noise/index.js';
import { mropePositions } from './positions/index.js';
import { sample, type ActionState } from './sample.js';
import { flowSchedule } from './scheduler/index.js';
import type { PromptRequest } from './text/index.js';

/**
 * The recipe every mode follows once it has decided what is clean and what is generated:
 * tokenize → noise → VAE-encode the conditioning → timesteps → denoising loop → decode → result.
 */

export interface ActionPlan {
  /** Action steps A (the chunk). */
  readonly steps: number;
  /** [A] 1 = generated step, 0 = conditioning step. */
  readonly noisy: Float32Array;
  /** [A, actionDim] clean actions for the conditioning steps. */
  readonly clean?: Float32Array;
  readonly domainId: number;
  readonly rawDim: number;
  /** Return the generated actions trimmed to [A][rawDim]. */
  readonly output: boolean;
}

export interface GenerationPlan {
  readonly prompt: PromptRequest;
  /** [1, C, T, h, w] vision latent to generate. */
  readonly latentShape: readonly number[];
  /** [T] 1 = generated latent frame, 0 = conditioning frame. */
  readonly visionNoisy: Float32Array;
  /** Normalised clean latent covering every conditioning frame (called only if there is one). */
  readonly encodeConditioning?: (signal?: AbortSignal) => Promise<HostTensor>;
  readonly actions?: ActionPlan;
  /** Return these frames instead of decoding the generated video (inverse_dynamics, policy). */
  readonly echoFrames?: RgbFrames;
}

const MS_PER_S = 1000;

export async function generate(ctx: PipelineContext, plan: GenerationPlan): Promise<PipelineResult> {
  const { spec, networks, facts, hooks } = ctx;
  const now = hooks.now ?? (() => performance.now());
  const timings: Record<string, number> = hooks.timings ?? {};
  const progress = (stage: JobProgress['stage'], step = 0, totalSteps = spec.numSteps): void =>
    hooks.onProgress?.({ stage, step, totalSteps });
  const timed = async <T>(stage: string, fn: () => T | Promise<T>): Promise<T> => {
    throwIfAborted(hooks.signal);
    const start = now();
    try {
      return await fn();
    } finally {
      timings[stage] = (now() - start) / MS_PER_S;
    }
  };
  const [, channels] = plan.latentShape;
  assert(channels === facts.latentChannels, `latent channels ${channels} = model's ${facts.latentChannels}`);

  // 1. Prompts → token ids, and the mRoPE positions of each joint sequence.
  progress('tokenize');
  const prompts = await timed('tokenize', () => ctx.text.encodePrompts(plan.prompt));
  const grid = patchGrid(plan.latentShape, facts.patchSize);
  const positions = (ids: BigInt64Array): Float32Array =>
    mropePositions(facts.mrope, {
      textLength: ids.length,
      vision: grid,
      fps: spec.fps,
      actionSteps: plan.actions?.steps,
    });

  // 2. Noise: numpy RandomState(seed), vision [1, C, T, h, w] first, then actions [A, actionDim].
  const noise = await timed('noise', () => {
    const rng = new LegacyRandomState(spec.seed);
    const vision = rng.standardNormalFloat32(plan.latentShape);
    const actions = plan.actions ? rng.standardNormalFloat32([plan.actions.steps, facts.actionDim]) : undefined;
    return { vision, actions };
  });

  // 3. Clean conditioning latents.
  const needsClean = plan.visionNoisy.some((n) => n === 0);
  let clean: HostTensor | undefined;
  if (needsClean) {
    const encode = plan.encodeConditioning;
    assert(encode !== undefined, 'a conditioning encoder for the clean frames');
    progress('vae_encode');
    clean = await timed('vae_encode', () => encode(hooks.signal));
  }
  const vision = mixCleanFrames(noise.vision, plan.latentShape, plan.visionNoisy, clean);
  let actions: ActionState | undefined;
  if (plan.actions && noise.actions) {
    const a = plan.actions;
    actions = {
      latents: mixCleanActions(noise.actions, a.noisy, a.clean, facts.actionDim, a.rawDim),
      noisy: a.noisy,
      domainId: a.domainId,
      rawDim: a.rawDim,
    };
  }

  // 4. Timesteps, 5. the denoising loop.
  const schedule = flowSchedule(spec.numSteps, spec.shift, facts.schedule);
  progress('sampling', 0, schedule.timesteps.length);
  const result = await timed('sampling', () =>
    sample(
      networks.denoiser,
      {
        cond: { inputIds: prompts.cond, positions: positions(prompts.cond) },
        uncond: { inputIds: prompts.uncond, positions: positions(prompts.uncond) },
        vision,
        visionNoisy: plan.visionNoisy,
        actions,
        timesteps: schedule.timesteps,
        sigmas: schedule.sigmas,
        guidance: spec.guidance,
        solver: facts.schedule.solver,
      },
      { signal: hooks.signal, onStep: (done, total) => progress('sampling', done, total) },
    ),
  );

  // 6. Decode (or echo the conditioning), 7. typed result.
  let frames = plan.echoFrames;
  if (!frames) {
    progress('vae_decode', schedule.timesteps.length, schedule.timesteps.length); // every sampling step is done
    frames = await timed('vae_decode', () => decodeLatents(networks.vae, result.vision, hooks.signal));
  }
  const out: { frames: RgbFrames; actions?: number[][]; timings: Record<string, number> } = { frames, timings };
  if (plan.actions?.output && result.actions) out.actions = trimActions(result.actions, plan.actions.rawDim);
  return out;
}
