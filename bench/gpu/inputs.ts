/** Inputs the GPU benchmark feeds: seeded random latents and a 300-token prompt's forward inputs. */
import { mropePositions } from '../../src/pipeline/index.js';
import { WeightRandom } from '../../src/convert/tiny/random.js';

export const TEXT_LEN = 300;

/** Standard normal values from the tiny model's seeded generator. */
export function randn(n: number, seed: number): Float32Array {
  return new WeightRandom(seed).fillNormal(new Float32Array(n), 0, 1);
}

/** Vision tokens of a latent T×H×W (2×2 patches, the odd row / column padded). */
export function visionTokens(T: number, H: number, W: number): number {
  return T * Math.ceil(H / 2) * Math.ceil(W / 2);
}

/** The inputs of one vision-only forward with a 300-token prompt at latent size T×H×W. */
export function forwardInputs(T: number, H: number, W: number) {
  const rows = Math.ceil(H / 2);
  const cols = Math.ceil(W / 2);
  const inputIds = BigInt64Array.from({ length: TEXT_LEN }, (_, i) => BigInt((i * 7919) % 256));
  const positions = mropePositions({ baseFps: 24, margin: 15000, temporalFactor: 4, soundLatentFps: 25 }, { textLength: TEXT_LEN, vision: { frames: T, rows, cols }, fps: 24 });
  return {
    tokens: visionTokens(T, H, W),
    inputs: { inputIds, visionLatents: { data: randn(48 * T * H * W, 7), shape: [1, 48, T, H, W] }, visionNoisy: new Float32Array(T).fill(1), timestep: 900, positions },
  };
}
