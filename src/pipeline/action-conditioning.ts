import { actionCanvas, isActionTier, type ActionCanvas } from '../config/index.js';
import { assert, InvalidFieldError, withField, type ActionSpec, type HostTensor, type RgbFrames } from '../shared/index.js';
import { encodeFrames } from './conditioning.js';
import type { PipelineContext } from './context.js';
import type { ActionPlan, GenerationPlan } from './generate.js';
import { cropLatent, fitFrameCount, leadingFrames, padFrames } from './latents/index.js';

/**
 * What the three action modes share: chunk + 1 pixel frames scaled to fit the canvas (by the main side),
 * padded right/bottom onto it here, VAE-encoded, the latent cropped to the content; the JSON caption prompt;
 * `chunk` action steps after the vision tokens.
 */

export interface ActionSetup {
  readonly action: ActionSpec;
  readonly canvas: ActionCanvas;
  /** chunk + 1 content-size frames (the input, cut or padded by repeating the last frame). */
  readonly clip: RgbFrames;
  /** [1, C, T, latentH, latentW] vision latent to generate. */
  readonly latentShape: readonly number[];
  readonly prompt: GenerationPlan['prompt'];
  /** Encode the first `pixelFrames` (4k+1) frames of the padded canvas clip, cropped to the content. */
  encode(pixelFrames: number, signal?: AbortSignal): Promise<HostTensor>;
  /** An action plan over the chunk. */
  actions(noisy: boolean, output: boolean, clean?: Float32Array): ActionPlan;
}

export function setupAction(ctx: PipelineContext): ActionSetup {
  const { spec, input, facts, networks } = ctx;
  const action = spec.action;
  assert(action !== undefined, `${spec.mode} has an action spec`);
  if (action.rawDim > facts.actionDim) {
    // a valid request this model cannot serve (a checkpoint whose action width is narrower than the domain's):
    // refused before any encoding, where generating would only fail at the end
    throw withField(new InvalidFieldError('domain_name',
      `domain "${action.domainName}" has ${action.rawDim} action values, more than the loaded model's action width of ${facts.actionDim} (transformer action_dim)`), 'domain_name');
  }
  const frames = input.frames;
  assert(frames !== undefined && frames.frames >= 1, `${spec.mode} input frames`);
  const tier = action.imageSize;
  assert(isActionTier(tier), `action tier ${tier}`);
  // the main side's canvas (from the source size); a canvas derived from the scaled frames is only right when
  // their size is already a multiple of the spatial factor (direct callers: tests, the benchmark)
  const canvas = input.canvas ?? actionCanvas(frames.height, frames.width, tier, facts.vaeSpatialFactor);
  assert(
    frames.height === canvas.contentHeight && frames.width === canvas.contentWidth,
    `input frames ${frames.width}x${frames.height} = canvas content ${canvas.contentWidth}x${canvas.contentHeight}`,
  );
  assert(
    canvas.latentHeight === Math.max(1, Math.floor(canvas.contentHeight / facts.vaeSpatialFactor))
      && canvas.latentWidth === Math.max(1, Math.floor(canvas.contentWidth / facts.vaeSpatialFactor)),
    `canvas latent ${canvas.latentWidth}x${canvas.latentHeight} for content ${canvas.contentWidth}x${canvas.contentHeight} at spatial factor ${facts.vaeSpatialFactor}`,
  );
  const pixelFrames = action.chunkSize + 1;
  const clip = fitFrameCount(frames, pixelFrames);
  const latentFrames = Math.floor((pixelFrames - 1) / facts.vaeTemporalFactor) + 1;
  const latentShape = [1, facts.latentChannels, latentFrames, canvas.latentHeight, canvas.latentWidth];
  const sourceClip = clip;
  return {
    action,
    canvas,
    clip,
    latentShape,
    prompt: {
      prompt: spec.prompt,
      negativePrompt: spec.negativePrompt,
      media: { frames: pixelFrames, fps: spec.fps, height: canvas.canvasHeight, width: canvas.canvasWidth },
      action: {},
    },
    async encode(count, signal) {
      const padded = padFrames(leadingFrames(sourceClip, count), canvas.canvasHeight, canvas.canvasWidth, canvas.padMode);
      const z = await encodeFrames(networks.vae, padded, signal);
      return cropLatent(z, canvas.latentHeight, canvas.latentWidth);
    },
    actions(noisy, output, clean) {
      return {
        steps: action.chunkSize,
        noisy: new Float32Array(action.chunkSize).fill(noisy ? 1 : 0),
        clean,
        domainId: action.domainId,
        rawDim: action.rawDim,
        output,
      };
    },
  };
}
