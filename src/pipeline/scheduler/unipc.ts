/**
 * Flow UniPC multistep solver (diffusers `UniPCMultistepScheduler` with flow_prediction, predict_x0,
 * solver_type bh2, lower_order_final, corrector on), as a small object over Float32Array samples.
 * Per element the math is float64; samples come back as float32 like the reference tensors.
 * Formulas: fixtures README, "UniPC".
 */

export interface UniPcOptions {
  /** solver_order (2 for Cosmos3). */
  readonly order: number;
  readonly lowerOrderFinal: boolean;
}

export const DEFAULT_UNIPC: UniPcOptions = { order: 2, lowerOrderFinal: true };

/** λ(σ) = ln(1 − σ) − ln σ (log-SNR of the flow path). */
function lambda(sigma: number): number {
  return Math.log(1 - sigma) - Math.log(sigma);
}

export class UniPcScheduler {
  /** [N + 1] sigmas as float64 values of the float32 schedule. */
  readonly #sigmas: Float64Array;
  readonly #order: number;
  readonly #lowerOrderFinal: boolean;
  #step = 0;
  #lowerOrderCount = 0;
  #lastOrder = 1;
  /** x0 predictions, most recent last (at most `order`). */
  #history: Float64Array[] = [];
  /** The (corrected) sample the previous step started from. */
  #lastSample: Float64Array | null = null;

  constructor(sigmas: Float32Array | readonly number[], options: UniPcOptions = DEFAULT_UNIPC) {
    if (sigmas.length < 2) throw new RangeError('UniPcScheduler: need at least two sigmas');
    if (options.order !== 1 && options.order !== 2) throw new RangeError(`UniPcScheduler: order ${options.order} unsupported`);
    this.#sigmas = Float64Array.from(sigmas);
    this.#order = options.order;
    this.#lowerOrderFinal = options.lowerOrderFinal;
  }

  /** Steps taken so far. */
  get stepIndex(): number {
    return this.#step;
  }

  get numSteps(): number {
    return this.#sigmas.length - 1;
  }

  /** One solver step: `v` is the velocity predicted for sample `x` (same layout); returns the next sample. */
  step(v: Float32Array, x: Float32Array): Float32Array {
    if (v.length !== x.length) throw new RangeError(`UniPcScheduler.step: v has ${v.length} values, x has ${x.length}`);
    const i = this.#step;
    const n = this.numSteps;
    if (i >= n) throw new RangeError(`UniPcScheduler.step: all ${n} steps already taken`);
    const sig = this.#sigmas;
    const sI = sig[i];
    const len = x.length;

    const x0 = new Float64Array(len);
    for (let k = 0; k < len; k++) x0[k] = x[k] - sI * v[k];

    let sample: Float64Array = Float64Array.from(x);
    if (i > 0 && this.#lastSample !== null) sample = this.#correct(i, x0);

    this.#history.push(x0);
    if (this.#history.length > this.#order) this.#history.shift();
    const wanted = this.#lowerOrderFinal ? Math.min(this.#order, n - i) : this.#order;
    const order = Math.min(wanted, this.#lowerOrderCount + 1);
    this.#lastOrder = order;
    this.#lastSample = sample;

    const next = this.#predict(i, order, sample);
    if (this.#lowerOrderCount < this.#order) this.#lowerOrderCount++;
    this.#step++;
    return Float32Array.from(next);
  }

  /** UniC: corrects the sample the previous step produced, given the new x0 prediction. */
  #correct(i: number, x0: Float64Array): Float64Array {
    const sig = this.#sigmas;
    const sT = sig[i];
    const sS = sig[i - 1];
    const alphaT = 1 - sT;
    const h = lambda(sT) - lambda(sS);
    const hh = -h;
    const eh = Math.expm1(hh);
    const m0 = this.#history[this.#history.length - 1];
    const prev = this.#lastSample as Float64Array;
    const ratio = sT / sS;
    let rho = 0;
    let c = 0.5;
    let d1: Float64Array | null = null;
    let rk = 1;
    if (this.#lastOrder === 2) {
      rk = (lambda(sig[i - 2]) - lambda(sS)) / h;
      d1 = this.#history[this.#history.length - 2];
      const b1 = (eh / hh - 1) / eh;
      const b2 = (2 * ((eh / hh - 1) / hh - 0.5)) / eh;
      // rho + c = b1, rk rho + c = b2
      rho = (b2 - b1) / (rk - 1);
      c = b1 - rho;
    }
    const out = new Float64Array(x0.length);
    for (let k = 0; k < out.length; k++) {
      const base = ratio * prev[k] - alphaT * eh * m0[k];
      let corr = c * (x0[k] - m0[k]);
      if (d1 !== null) corr += (rho * (d1[k] - m0[k])) / rk;
      out[k] = base - alphaT * eh * corr;
    }
    return out;
  }

  /** UniP of the given order from the corrected sample. */
  #predict(i: number, order: number, sample: Float64Array): Float64Array {
    const sig = this.#sigmas;
    const sT = sig[i + 1];
    const sS = sig[i];
    const hist = this.#history;
    const m0 = hist[hist.length - 1];
    if (sT === 0) {
      if (order !== 1) throw new RangeError('UniPcScheduler: order 2 at the final zero sigma (use lowerOrderFinal)');
      return Float64Array.from(m0);
    }
    const alphaT = 1 - sT;
    const h = lambda(sT) - lambda(sS);
    const eh = Math.expm1(-h);
    const ratio = sT / sS;
    const out = new Float64Array(sample.length);
    if (order === 1) {
      for (let k = 0; k < out.length; k++) out[k] = ratio * sample[k] - alphaT * eh * m0[k];
      return out;
    }
    const rk = (lambda(sig[i - 1]) - lambda(sS)) / h;
    const m1 = hist[hist.length - 2];
    for (let k = 0; k < out.length; k++) {
      const base = ratio * sample[k] - alphaT * eh * m0[k];
      out[k] = base - alphaT * eh * 0.5 * ((m1[k] - m0[k]) / rk);
    }
    return out;
  }
}
