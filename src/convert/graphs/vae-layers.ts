import { float, ONNX_DTYPE_BYTES, OnnxDataType, tensorAttr, type Dim, type GraphBuilder } from '../onnx/index.js';
import type { ComputeDtype, WeightTable } from '../weights.js';

/**
 * Layer primitives of the Wan2.2 VAE graphs. Activations are [1, C, T, H, W] in the compute dtype. Temporal
 * layers follow one of three chunk rules (fixtures README, "Chunked causal running"):
 * - 'first': the first chunk of a sequence (zero history; temporal down/up pass their single frame),
 * - 'step':  a later chunk; every temporal layer reads its cache from a graph input `cache_in.<layer>` and
 *            writes the updated cache to `cache_out.<layer>` (float32 at the boundary),
 * - 'full':  the whole sequence in one pass (zero left padding, frame 0 bypassing temporal resampling).
 * 'first' graphs create the caches (zeros where the README says so) and output them, so the runner never
 * needs their shapes. Only Conv pads pad space or time (no 5D Pad); norm statistics are float32.
 * With `cacheIo: 'loop'` the caches are a Loop body's carried state in the compute dtype instead of float32
 * graph I/O: 'step' reads them from inputs of `stateScope` (the body) and both modes end each written cache at
 * frame `cacheEnd` (0 on the last iteration, so the Loop's final state is empty and costs no copy).
 */

export type ChunkMode = 'first' | 'step' | 'full';

/** 'graph': float32 `cache_in.*` / `cache_out.*` graph I/O; 'loop': compute-dtype values for a Loop. */
export type CacheIo = 'graph' | 'loop';

/** An activation: value name, channels, static frame count (null when dynamic) and spatial level. */
export interface Act {
  readonly v: string;
  readonly c: number;
  readonly t: number | null;
  /** Spatial level: the graph's `hw(level)` gives its symbolic H/W dims. */
  readonly level: number;
}

/** A cache written by a temporal layer: layer name (`cache_out.` prefix in 'graph' I/O), value, dims. */
export interface CacheOut {
  readonly name: string;
  readonly value: string;
  readonly dims: readonly Dim[];
  /** Frames kept (2, or 1 for the encoder's temporal down). */
  readonly k: number;
}

export interface VaeLayersOptions {
  readonly cacheIo?: CacheIo;
  /** 'loop': the graph whose inputs carry the caches read (default: the layers' own graph). */
  readonly stateScope?: GraphBuilder;
  /** 'loop': int64 [1] end frame of every cache written (default: all frames). */
  readonly cacheEnd?: string;
}

export class VaeLayers {
  readonly #cd: number;
  readonly #made = new Set<string>();
  readonly #cacheOuts: CacheOut[] = [];
  readonly #cacheIns: CacheOut[] = [];
  readonly #consts = new Map<string, string>();
  readonly #opts: VaeLayersOptions;
  readonly cacheIo: CacheIo;

  constructor(
    readonly g: GraphBuilder,
    readonly w: WeightTable,
    readonly dtype: ComputeDtype,
    readonly mode: ChunkMode,
    /** Symbolic [H, W] dims at a spatial level (for cache I/O declarations). */
    readonly hw: (level: number) => readonly [Dim, Dim],
    opts: VaeLayersOptions = {},
  ) {
    this.#cd = OnnxDataType[dtype];
    this.cacheIo = opts.cacheIo ?? 'graph';
    this.#opts = opts;
  }

  // ------------------------------------------------------------------ plumbing

  /** A checkpoint weight declared with `dims` (same element count: a free view of the stored bytes). */
  weight(name: string, dims?: readonly number[]): string {
    const p = this.w.get(name);
    const shape = dims ?? p.shape;
    if (shape.reduce((a, b) => a * b, 1) !== p.shape.reduce((a, b) => a * b, 1)) throw new RangeError(`VAE weight ${name}: view [${shape.join(',')}] of [${p.shape.join(',')}]`);
    if (!this.#made.has(name)) {
      if (!this.g.hasInitializer(name)) this.g.initializer(name, p.dtype, shape, p.ref);
      this.#made.add(name);
    }
    return name;
  }

  toCompute(x: string): string {
    return this.dtype === 'float32' ? x : this.g.op('Cast', [x], { to: this.#cd });
  }

  toF32(x: string): string {
    return this.dtype === 'float32' ? x : this.g.op('Cast', [x], { to: OnnxDataType.float32 });
  }

  /** A float constant in the compute dtype (built in float32, cast once). */
  constC(values: Float32Array, dims: readonly number[]): string {
    const f = this.g.constant(values, 'float32', dims);
    let c = this.#consts.get(f);
    if (!c) {
      c = this.toCompute(f);
      this.#consts.set(f, c);
    }
    return c;
  }

  /** int64 [k] dims of x from `start` to `end`. */
  dims(x: string, start: number, end: number): string {
    return this.g.op('Shape', [x], { start, end });
  }

  frames(x: string, start: number, end: number): string {
    return this.g.op('Slice', [x, this.g.i64([start]), this.g.i64([end]), this.g.i64([2])]);
  }

  concatT(xs: readonly string[]): string {
    return this.g.op('Concat', xs, { axis: 2 });
  }

  /** Zero frames [1, c, k, H, W] in the compute dtype, H/W taken from x. */
  zeros(x: Act, k: number): string {
    const shape = this.g.op('Concat', [this.g.i64([1, x.c, k]), this.dims(x.v, 3, 5)], { axis: 0 });
    return this.g.op('ConstantOfShape', [shape], { value: tensorAttr(this.dtype, [1], new Uint8Array(ONNX_DTYPE_BYTES[this.dtype])) });
  }

  /** Cache read (step mode): declares `cache_in.<name>` [1, c, k, H, W] float32 (or a compute-dtype Loop state input). */
  cacheIn(name: string, x: Act, k: number): string {
    const [h, w] = this.hw(x.level);
    if (this.cacheIo === 'loop') {
      const dims = [1, x.c, `cache${k}`, h, w];
      const scope = this.#opts.stateScope ?? this.g;
      const v = scope.input(scope.fresh('cache_in'), this.dtype, dims);
      this.#cacheIns.push({ name, value: v, dims, k });
      return v;
    }
    this.#cacheIns.push({ name, value: `cache_in.${name}`, dims: [1, x.c, k, h, w], k });
    return this.toCompute(this.g.input(`cache_in.${name}`, 'float32', [1, x.c, k, h, w]));
  }

  /** The last k frames of x: a step's updated cache (in 'loop' I/O up to `cacheEnd`). */
  tail(x: string, k: number): string {
    const end = this.cacheIo === 'loop' && this.#opts.cacheEnd ? this.#opts.cacheEnd : this.g.i64([2 ** 62]);
    return this.g.op('Slice', [x, this.g.i64([-k]), end, this.g.i64([2])]);
  }

  /** Cache write ('first' and 'step'): `cache_out.<name>` [1, c, k, H, W] float32 (declared by finish()), or Loop state. */
  cacheOut(name: string, value: string, x: Act, k: number): void {
    const [h, w] = this.hw(x.level);
    if (this.cacheIo === 'graph') {
      this.#cacheOuts.push({ name: `cache_out.${name}`, value: this.toF32(value), dims: [1, x.c, k, h, w], k });
      return;
    }
    const end = this.#opts.cacheEnd;
    const v = this.mode === 'first' && end ? this.g.op('Slice', [value, this.g.i64([0]), end, this.g.i64([2])]) : value;
    this.#cacheOuts.push({ name, value: v, dims: [1, x.c, `cache${k}`, h, w], k });
  }

  /** The caches read (step mode), in the order of the inputs they declared. */
  get cacheReads(): readonly CacheOut[] {
    return this.#cacheIns;
  }

  /**
   * Declare the cache outputs: after the main output in forward order ('graph'), or, as a Loop body's (branch's)
   * carried outputs, in the order of `order` (default: the order the caches were read).
   */
  finish(order: readonly string[] = this.#cacheIns.map((c) => c.name)): void {
    if (this.cacheIo === 'graph') {
      for (const c of this.#cacheOuts) this.g.output(c.value, c.name, 'float32', c.dims);
      return;
    }
    const byName = new Map(this.#cacheOuts.map((c) => [c.name, c]));
    if (byName.size !== order.length) throw new Error(`VaeLayers: ${byName.size} caches written, ${order.length} carried`);
    for (const name of order) {
      const c = byName.get(name);
      if (!c) throw new Error(`VaeLayers: the cache of ${name} is not written`);
      this.g.output(c.value, c.value, this.dtype, c.dims);
    }
  }

  // ------------------------------------------------------------------ per-position layers

  /** x·sigmoid(x) as one kernel: com.microsoft QuickGelu with alpha 1 (bf16 on the CUDA EP). */
  silu(x: Act): Act {
    return { ...x, v: this.g.op('QuickGelu', [x.v], { alpha: float(1) }, { domain: 'com.microsoft' }) };
  }

  /**
   * y = x / max(‖x‖₂ over C, 1e-12) · √C · γ. The sum of squares is a 1×1×1 Conv with a ones kernel (bf16
   * kernels on CUDA, float accumulation); in float16 x is squared in float32 (x² overflows half). The
   * [1, 1, T, H, W] statistics (√, max, division) are float32; only Mul/Conv touch full-size tensors.
   */
  norm(x: Act, gamma: string): Act {
    const g = this.g;
    const C = x.c;
    let sumSq: string;
    if (this.dtype === 'float16') {
      const xf = g.op('Cast', [x.v], { to: OnnxDataType.float32 });
      sumSq = g.op('Conv', [g.op('Mul', [xf, xf]), g.constant(new Float32Array(C).fill(1), 'float32', [1, C, 1, 1, 1])]);
    } else {
      sumSq = this.toF32(g.op('Conv', [g.op('Mul', [x.v, x.v]), this.constC(new Float32Array(C).fill(1), [1, C, 1, 1, 1])]));
    }
    const n = g.op('Max', [g.op('Sqrt', [sumSq]), g.scalar(1e-12)]);
    const scale = this.toCompute(g.op('Div', [g.scalar(Math.sqrt(C)), n]));
    return { ...x, v: g.op('Mul', [g.op('Mul', [x.v, scale]), this.weight(gamma, [C, 1, 1, 1])]) };
  }

  /** 1×1×1 conv (no padding, no cache). */
  conv1(x: Act, prefix: string, out: number): Act {
    const v = this.g.op('Conv', [x.v, this.weight(`${prefix}.weight`, [out, x.c, 1, 1, 1]), this.weight(`${prefix}.bias`)]);
    return { ...x, v, c: out };
  }

  // ------------------------------------------------------------------ temporal layers

  /** Causal 3×3×3 conv: time padded on the left by 2 frames (zeros or the cache), space by 1 on each side. */
  causalConv(x: Act, prefix: string, out: number): Act {
    const g = this.g;
    const W = this.weight(`${prefix}.weight`);
    const B = this.weight(`${prefix}.bias`);
    if (this.mode === 'step') {
      const xc = this.concatT([this.cacheIn(prefix, x, 2), x.v]);
      this.cacheOut(prefix, this.tail(xc, 2), x, 2);
      return { ...x, c: out, v: g.op('Conv', [xc, W, B], { pads: [0, 1, 1, 0, 1, 1] }) };
    }
    if (this.mode === 'first') {
      // the last 2 frames of [0, 0, x]
      const last = x.t === 1 ? this.concatT([this.zeros(x, 1), x.v]) : this.frames(x.v, -2, 2 ** 62);
      this.cacheOut(prefix, last, x, 2);
    }
    return { ...x, c: out, v: g.op('Conv', [x.v, W, B], { pads: [2, 1, 1, 0, 1, 1] }) };
  }

  /** Encoder temporal down (kernel (3,1,1), time stride 2): frame 0 passes, frame j ≥ 1 = conv(2j−2, 2j−1, 2j). */
  timeDown(x: Act, prefix: string): Act {
    const g = this.g;
    const W = this.weight(`${prefix}.weight`);
    const B = this.weight(`${prefix}.bias`);
    if (this.mode === 'first') {
      this.cacheOut(prefix, x.v, x, 1);
      return x;
    }
    if (this.mode === 'step') {
      const xc = this.concatT([this.cacheIn(prefix, x, 1), x.v]);
      this.cacheOut(prefix, this.tail(x.v, 1), x, 1);
      return { ...x, t: x.t === null ? null : x.t / 2, v: g.op('Conv', [xc, W, B], { strides: [2, 1, 1] }) };
    }
    // full: two zero frames on the left make output j read frames 2j−2..2j; output 0 is replaced by frame 0
    const y = g.op('Conv', [x.v, W, B], { strides: [2, 1, 1], pads: [2, 0, 0, 0, 0, 0] });
    return { ...x, t: null, v: this.concatT([this.frames(x.v, 0, 1), this.frames(y, 1, 2 ** 62)]) };
  }

  /**
   * Decoder temporal up (causal kernel (3,1,1), C → 2C): frame 0 passes; frames 1.. form their own causal
   * sequence, each yielding 2 frames (conv channels 0..C−1, then C..2C−1).
   */
  timeUp(x: Act, prefix: string): Act {
    const g = this.g;
    const W = this.weight(`${prefix}.weight`);
    const B = this.weight(`${prefix}.bias`);
    if (this.mode === 'first') {
      this.cacheOut(prefix, this.zeros(x, 2), x, 2);
      return x;
    }
    if (this.mode === 'step') {
      const xc = this.concatT([this.cacheIn(prefix, x, 2), x.v]);
      this.cacheOut(prefix, this.tail(xc, 2), x, 2);
      return { ...x, t: x.t === null ? null : 2 * x.t, v: this.interleave(g.op('Conv', [xc, W, B]), x.c) };
    }
    // full: zero frame 0 so the conv of frames 1.. sees zero history; drop the 2 frames output 0 made
    const shifted = this.concatT([this.zeros(x, 1), this.frames(x.v, 1, 2 ** 62)]);
    const y = this.interleave(g.op('Conv', [shifted, W, B], { pads: [2, 0, 0, 0, 0, 0] }), x.c);
    return { ...x, t: null, v: this.concatT([this.frames(x.v, 0, 1), this.frames(y, 2, 2 ** 62)]) };
  }

  /** [1, 2C, T, H, W] → [1, C, 2T, H, W], frame 2t+s = channels s·C.. of step t. */
  interleave(y: string, c: number): string {
    const g = this.g;
    const hw = this.dims(y, 3, 5);
    const y6 = g.op('Reshape', [y, g.op('Concat', [g.i64([1, 2, c, -1]), hw], { axis: 0 })]); // [1, 2, C, T, H, W]
    const t6 = g.op('Transpose', [y6], { perm: [0, 2, 3, 1, 4, 5] }); // [1, C, T, 2, H, W]
    return g.op('Reshape', [t6, g.op('Concat', [g.i64([1, c, -1]), hw], { axis: 0 })]);
  }

  // ------------------------------------------------------------------ spatial resampling

  /** Per frame: one zero row/column at the bottom/right, then a 3×3 stride-2 conv. */
  spaceDown(x: Act, prefix: string): Act {
    const W = this.weight(`${prefix}.weight`, [x.c, x.c, 1, 3, 3]);
    const v = this.g.op('Conv', [x.v, W, this.weight(`${prefix}.bias`)], { strides: [1, 2, 2], pads: [0, 0, 0, 0, 1, 1] });
    return { ...x, v, level: x.level + 1 };
  }

  /** Per frame: nearest ×2, then a 3×3 conv with padding 1. */
  spaceUp(x: Act, prefix: string): Act {
    const g = this.g;
    const hw2 = g.op('Mul', [this.dims(x.v, 3, 5), g.i64([2, 2])]);
    const big = g.op('Expand', [g.op('Unsqueeze', [x.v, g.i64([4, 6])]), g.i64([1, 1, 1, 1, 2, 1, 2])]); // [1, C, T, H, 2, W, 2]
    const up = g.op('Reshape', [big, g.op('Concat', [g.i64([1, x.c, -1]), hw2], { axis: 0 })]);
    const W = this.weight(`${prefix}.weight`, [x.c, x.c, 1, 3, 3]);
    const v = g.op('Conv', [up, W, this.weight(`${prefix}.bias`)], { pads: [0, 1, 1, 0, 1, 1] });
    return { ...x, v, level: x.level - 1 };
  }
}
