import { numel } from '../../shared/index.js';
import { Mt19937 } from './mt19937.js';
import { exactLog } from './exact-log.js';

/**
 * numpy's legacy `RandomState(seed).standard_normal`: polar Box–Muller over 53-bit uniform doubles, each
 * accepted pair yielding two Gaussians; the second is cached and returned by the next call, across calls.
 */
export class LegacyRandomState {
  readonly #mt: Mt19937;
  #hasGauss = false;
  #gauss = 0;

  constructor(seed: number) {
    this.#mt = new Mt19937(seed);
  }

  /** One standard normal double. */
  nextGaussian(): number {
    if (this.#hasGauss) {
      this.#hasGauss = false;
      return this.#gauss;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.#mt.nextDouble() - 1;
      x2 = 2 * this.#mt.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * exactLog(r2)) / r2);
    this.#gauss = f * x1;
    this.#hasGauss = true;
    return f * x2;
  }

  /** `count` standard normals in float64, in draw order (numpy C order for a shaped draw). */
  standardNormal(count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.nextGaussian();
    return out;
  }

  /** `standard_normal(shape).astype(float32)`: the draw for a latent such as [1, C, T, H, W], row-major. */
  standardNormalFloat32(shape: readonly number[]): Float32Array {
    return toFloat32(this.standardNormal(numel(shape)));
  }
}

/** Round float64 values to float32 (round to nearest even, numpy's `astype(float32)`). */
export function toFloat32(values: Float64Array): Float32Array {
  return new Float32Array(values); // element-wise conversion, without from()'s iteration
}
