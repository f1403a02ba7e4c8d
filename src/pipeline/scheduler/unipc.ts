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
  /** x0 predictions, most recent last (at most `order`); the oldest buffer is reused for the next one. */
  #history: Float64Array[] = [];
  /** The (corrected) sample the previous step started from; rewritten in place by the next step. */
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

  /**
   * One solver step: `v` is the velocity predicted for sample `x` (same layout); returns the next sample (a new
   * array). The x0 prediction, the corrector (UniC) and the predictor (UniP) run in one pass over the elements
   * into buffers kept from step to step: at a 720p/189-frame latent (8.3M values) a step allocated five 66 MB
   * float64 arrays and walked them five times.
   */
  step(v: Float32Array, x: Float32Array): Float32Array {
    const len = x.length;
    if (v.length !== len) throw new RangeError(`UniPcScheduler.step: v has ${v.length} values, x has ${len}`);
    const i = this.#step;
    const n = this.numSteps;
    if (i >= n) throw new RangeError(`UniPcScheduler.step: all ${n} steps already taken`);
    const prev = this.#lastSample;
    if (prev !== null && prev.length !== len) throw new RangeError(`UniPcScheduler.step: ${len} values, the previous step had ${prev.length}`);
    const sig = this.#sigmas;
    const sI = sig[i];
    const hist = this.#history;

    // corrector coefficients: the sample the previous step produced, corrected with this step's x0
    const corrects = i > 0 && prev !== null;
    const m0 = hist[hist.length - 1]; // the previous x0 (undefined on step 0)
    let cRatio = 0;
    let cAeh = 0;
    let c = 0.5;
    let rho = 0;
    let cRk = 1;
    let d1: Float64Array | null = null;
    if (corrects) {
      const sT = sig[i];
      const sS = sig[i - 1];
      const h = lambda(sT) - lambda(sS);
      const hh = -h;
      const eh = Math.expm1(hh);
      cRatio = sT / sS;
      cAeh = (1 - sT) * eh;
      if (this.#lastOrder === 2) {
        cRk = (lambda(sig[i - 2]) - lambda(sS)) / h;
        d1 = hist[hist.length - 2];
        const b1 = (eh / hh - 1) / eh;
        const b2 = (2 * ((eh / hh - 1) / hh - 0.5)) / eh;
        // rho + c = b1, rk rho + c = b2
        rho = (b2 - b1) / (cRk - 1);
        c = b1 - rho;
      }
    }

    // predictor order and coefficients (the history after this step's x0 is pushed)
    const histAfter = Math.min(hist.length + 1, this.#order);
    const wanted = this.#lowerOrderFinal ? Math.min(this.#order, n - i) : this.#order;
    const order = Math.min(wanted, this.#lowerOrderCount + 1);
    const sT = sig[i + 1];
    const final = sT === 0;
    if (final && order !== 1) throw new RangeError('UniPcScheduler: order 2 at the final zero sigma (use lowerOrderFinal)');
    const h = lambda(sT) - lambda(sI);
    const eh = Math.expm1(-h);
    const pRatio = sT / sI;
    const pAeh = (1 - sT) * eh;
    const pAehHalf = pAeh * 0.5;
    const pRk = order === 2 ? (lambda(sig[i - 1]) - lambda(sI)) / h : 1;
    const m1 = order === 2 ? m0 : undefined; // after the push the previous x0 is second to last
    if (order === 2 && (histAfter < 2 || m1 === undefined)) throw new RangeError('UniPcScheduler: order 2 without a previous x0');

    // buffers: the new x0 goes into the oldest history buffer once the history is full (read before written,
    // element by element), the sample into the previous sample's buffer
    const x0 = hist.length === this.#order ? hist.shift()! : new Float64Array(len);
    const sample = prev ?? new Float64Array(len);
    const out = new Float32Array(len);
    for (let k = 0; k < len; k++) {
      const x0k = x[k] - sI * v[k];
      let s = x[k];
      if (corrects) {
        const m0k = m0[k];
        const base = cRatio * sample[k] - cAeh * m0k;
        let corr = c * (x0k - m0k);
        if (d1 !== null) corr += (rho * (d1[k] - m0k)) / cRk;
        s = base - cAeh * corr;
      }
      let next: number;
      if (final) next = x0k;
      else if (m1 === undefined) next = pRatio * s - pAeh * x0k;
      else next = pRatio * s - pAeh * x0k - pAehHalf * ((m1[k] - x0k) / pRk);
      x0[k] = x0k;
      sample[k] = s;
      out[k] = next;
    }
    hist.push(x0);
    this.#lastOrder = order;
    this.#lastSample = sample;
    if (this.#lowerOrderCount < this.#order) this.#lowerOrderCount++;
    this.#step++;
    return out;
  }
}
