import { float, type GraphBuilder } from '../onnx/index.js';
import type { PlacedWeight, WeightTable } from '../weights.js';

/** Small composite helpers shared by the graph builders; each returns the output value name. */
export class Ops {
  constructor(readonly g: GraphBuilder, readonly w: WeightTable) {}

  /** Initializer for a checkpoint weight (external data), created once per graph. */
  weight(name: string): string {
    const p: PlacedWeight = this.w.get(name);
    // several builders of one model (If branches) share the root's initializers: add each weight once
    if (!this.#made.has(name) && !this.g.hasInitializer(name)) {
      this.g.initializer(name, p.dtype, p.shape, p.ref);
      this.#made.add(name);
    }
    return name;
  }
  readonly #made = new Set<string>();

  /** y = x Wᵀ (+ b) on a 2-D token matrix, weights in the checkpoint's [out, in] layout. */
  linear(x: string, prefix: string, bias: boolean): string {
    const inputs = [x, this.weight(`${prefix}.weight`)];
    if (bias) inputs.push(this.weight(`${prefix}.bias`));
    return this.g.op('Gemm', inputs, { transB: 1 });
  }

  rmsNorm(x: string, weightName: string, eps: number): string {
    return this.g.op('RMSNormalization', [x, this.weight(weightName)], { axis: -1, epsilon: float(eps) });
  }

  silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  cast(x: string, to: number): string {
    return this.g.op('Cast', [x], { to });
  }

  reshape(x: string, shape: string): string {
    return this.g.op('Reshape', [x, shape]);
  }

  /** Dimension `axis` of x as an int64 [1] tensor. */
  dim(x: string, axis: number): string {
    return this.g.op('Shape', [x], { start: axis, end: axis + 1 });
  }

  concat(xs: readonly string[], axis: number): string {
    return this.g.op('Concat', xs, { axis });
  }

  /** x[start:end] along `axis`, bounds given as int64 [1] tensors. */
  slice(x: string, start: string, end: string, axis: number): string {
    return this.g.op('Slice', [x, start, end, this.g.i64([axis])]);
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.g.op('Unsqueeze', [x, this.g.i64(axes)]);
  }
}
