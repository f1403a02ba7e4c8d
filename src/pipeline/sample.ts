import { tensor, type HostTensor } from '../shared/index.js';
import { throwIfAborted } from './abort.js';
import { combineGuidance, zeroCleanFrames, zeroCleanRows, zeroColumnsFrom } from './guidance.js';
import type { Denoiser, DenoiserInputs, DenoiserOutputs } from './networks.js';
import { UniPcScheduler, type UniPcOptions } from './scheduler/index.js';

/**
 * The denoising loop shared by every mode: per step a conditional pass (and an unconditional one unless
 * guidance is exactly 1), velocity masking, CFG, one UniPC step for the vision latent and, when some action
 * step is noisy, one for the action latent on its own scheduler copy.
 */

export interface TextPass {
  /** [L] token ids. */
  readonly inputIds: BigInt64Array;
  /** [3, N] mRoPE positions for this prompt's joint sequence. */
  readonly positions: Float32Array;
}

export interface ActionState {
  /** [A, actionDim] initial action latent (columns ≥ rawDim already 0). */
  readonly latents: HostTensor;
  /** [A] 1 = generated step, 0 = conditioning step. */
  readonly noisy: Float32Array;
  readonly domainId: number;
  /** Columns kept; the rest are zeroed after every step. */
  readonly rawDim: number;
}

export interface SampleInputs {
  readonly cond: TextPass;
  readonly uncond: TextPass;
  /** [1, C, T, H, W] initial vision latent (noise, clean latent on conditioning frames). */
  readonly vision: HostTensor;
  /** [T] 1 = generated frame, 0 = conditioning frame. */
  readonly visionNoisy: Float32Array;
  readonly actions?: ActionState;
  readonly timesteps: readonly number[];
  /** [N + 1] float32 sigmas. */
  readonly sigmas: Float32Array;
  readonly guidance: number;
  readonly solver: UniPcOptions;
}

export interface StepState {
  readonly vision: HostTensor;
  readonly actions?: HostTensor;
}

export interface SampleHooks {
  readonly signal?: AbortSignal;
  /** After every step: steps done (1..N) and the latents after it. */
  readonly onStep?: (stepsDone: number, totalSteps: number, state: StepState) => void;
}

export async function sample(denoiser: Denoiser, inputs: SampleInputs, hooks: SampleHooks = {}): Promise<StepState> {
  const { vision, visionNoisy, actions, timesteps, guidance } = inputs;
  const channels = vision.shape[1];
  const useCfg = guidance !== 1;
  const visionSolver = new UniPcScheduler(inputs.sigmas, inputs.solver);
  const actionSolver = actions ? new UniPcScheduler(inputs.sigmas, inputs.solver) : undefined;
  const actionDim = actions ? actions.latents.shape[1] : 0;
  const actionsMove = actions !== undefined && actions.noisy.some((n) => n !== 0);

  let x = vision.data;
  let a = actions?.latents.data;
  const total = timesteps.length;

  const request = (text: TextPass, timestep: number, latents: HostTensor): DenoiserInputs => ({
    inputIds: text.inputIds,
    visionLatents: latents,
    visionNoisy,
    timestep,
    positions: text.positions,
    actions: actions && a ? { tokens: tensor(a, actions.latents.shape), noisy: actions.noisy, domainId: actions.domainId } : undefined,
  });
  const hasCleanFrames = visionNoisy.some((n) => n === 0);
  const velocities = (out: DenoiserOutputs): { v: Float32Array; av?: Float32Array } => {
    // masked on a copy (the output is read-only here); nothing to mask when every frame is generated
    let v = out.vision.data;
    if (hasCleanFrames) {
      v = v.slice();
      zeroCleanFrames(v, visionNoisy, channels);
    }
    if (!actions) return { v };
    if (!out.action) throw new Error('denoiser returned no action velocity although actions were given');
    const av = out.action.data.slice();
    zeroCleanRows(av, actions.noisy, actionDim);
    zeroColumnsFrom(av, actionDim, actions.rawDim);
    return { v, av };
  };

  for (let i = 0; i < total; i++) {
    throwIfAborted(hooks.signal);
    const t = timesteps[i];
    const latents = tensor(x, vision.shape);
    const condIn = request(inputs.cond, t, latents);
    const uncondIn = useCfg ? request(inputs.uncond, t, latents) : undefined;
    // with guidance, both passes in one run where the denoiser can (the same numbers as two runs)
    const paired = uncondIn && denoiser.runPair ? await denoiser.runPair(condIn, uncondIn) : undefined;
    const cond = velocities(paired ? paired[0] : await denoiser.run(condIn));
    let v = cond.v;
    let av = cond.av;
    if (uncondIn) {
      const uncond = velocities(paired ? paired[1] : await denoiser.run(uncondIn));
      v = combineGuidance(cond.v, uncond.v, guidance);
      if (cond.av && uncond.av) av = combineGuidance(cond.av, uncond.av, guidance);
    }
    x = visionSolver.step(v, x);
    if (actions && actionSolver && actionsMove && a && av) {
      a = actionSolver.step(av, a);
      zeroColumnsFrom(a, actionDim, actions.rawDim);
    }
    hooks.onStep?.(i + 1, total, {
      vision: tensor(x, vision.shape),
      actions: actions && a ? tensor(a, actions.latents.shape) : undefined,
    });
  }
  return { vision: tensor(x, vision.shape), actions: actions && a ? tensor(a, actions.latents.shape) : undefined };
}
