/**
 * Flow-matching sigma schedules of the reference pipeline (fixtures README, "Schedule").
 * Math in float64 exactly as numpy evaluates it; the solver then works from the float32 sigmas.
 */

export interface FlowScheduleOptions {
  /** `num_train_timesteps` of scheduler_config.json (1000). */
  readonly numTrainTimesteps: number;
  /** The pipeline's `use_native_flow_schedule`: linspace(1 − 1/T, 0) instead of linspace(1, 1/T). */
  readonly native: boolean;
}

export interface FlowSchedule {
  /** [N] integer timesteps the network sees (truncated from the float64 shifted sigmas). */
  readonly timesteps: readonly number[];
  /** [N + 1] float32 sigmas, the last one 0. */
  readonly sigmas: Float32Array;
}

/** Sigmas this close to 1 are lowered by the same amount, so the first timestep is T − 1, not T. */
const SIGMA_ONE_EPS = 1e-6;

/** numpy.linspace(start, stop, num) in float64, evaluated as numpy does (i * step + start, last = stop). */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** σ' = shift·σ / (1 + (shift − 1)·σ). */
export function shiftSigma(sigma: number, shift: number): number {
  return (shift * sigma) / (1 + (shift - 1) * sigma);
}

export function flowSchedule(numSteps: number, shift: number, options: FlowScheduleOptions): FlowSchedule {
  if (!Number.isInteger(numSteps) || numSteps < 1) throw new RangeError(`flowSchedule: numSteps must be ≥ 1, got ${numSteps}`);
  if (!(shift > 0)) throw new RangeError(`flowSchedule: shift must be > 0, got ${shift}`);
  const t = options.numTrainTimesteps;
  const grid = options.native ? linspace(1 - 1 / t, 0, numSteps + 1) : linspace(1, 1 / t, numSteps + 1);
  const shifted = new Float64Array(numSteps);
  for (let i = 0; i < numSteps; i++) shifted[i] = shiftSigma(grid[i], shift);
  if (Math.abs(shifted[0] - 1) < SIGMA_ONE_EPS) shifted[0] -= SIGMA_ONE_EPS;
  const timesteps = Array.from(shifted, (s) => Math.trunc(s * t));
  const sigmas = new Float32Array(numSteps + 1);
  sigmas.set(shifted);
  sigmas[numSteps] = 0;
  return { timesteps, sigmas };
}
