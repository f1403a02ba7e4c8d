/** A dense row-major tensor on the host: the one currency between pipeline, engine and tests. */
export type TensorData = Float32Array | Uint16Array | BigInt64Array | Uint8Array;

export interface HostTensor<T extends TensorData = Float32Array> {
  readonly data: T;
  readonly shape: readonly number[];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor<T extends TensorData>(data: T, shape: readonly number[]): HostTensor<T> {
  const n = numel(shape);
  if (data.length !== n) {
    throw new RangeError(`tensor: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  }
  return { data, shape: [...shape] };
}

export function zeros(shape: readonly number[]): HostTensor<Float32Array> {
  return { data: new Float32Array(numel(shape)), shape: [...shape] };
}

/** Relative L2 error ‖a − b‖ / ‖b‖ in float64 (‖a − b‖ when b is all zeros). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`relL2: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}
