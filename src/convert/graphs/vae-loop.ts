import { graph, GraphBuilder, ONNX_DTYPE_BYTES, OnnxDataType, tensorAttr, type Dim, type OnnxDtype } from '../onnx/index.js';
import type { VaeConfig } from '../model-config.js';
import type { ComputeDtype, WeightTable } from '../weights.js';
import { VaeLayers } from './vae-layers.js';
import { decoderHw, decoderNet, encoderHw, encoderNet } from './vae-nets.js';
import { vaeDims } from './vae-specs.js';

/**
 * The VAE's causal chunked running as one graph (docs/graphs.md, "VAE graphs"): an ONNX Loop with one iteration
 * per chunk (frame 0, then one latent frame: 4 pixel frames in, or 1 latent frame in; the reference's
 * chunking) whose body is an If — iteration 0 takes the 'first' path, later ones the 'step' path — and whose
 * carried state is every causal cache, in the compute dtype. No cache crosses the graph boundary, so none is
 * copied to the host. Memory: the initial state is empty placeholders and the last iteration writes empty
 * caches, so ORT never holds a third set of caches (the Loop keeps its inputs alive and copies its final
 * state). Each iteration's output is a scan output, stacked along time after the Loop. The bodies read the
 * weights from the outer graph by name.
 */

/**
 * The Loop graphs' pixel side: 'float32' pixels [1, 3, F, H, W] in [-1, 1], or 'rgb8' frames [F, H, W, 3] uint8
 * (`*_rgb8` graphs: the conversion to and from bytes runs in the graph, so a 720p/189-frame video crosses the
 * binding as 0.5 GB of bytes rather than 2.1 GB of float32, and no host loop touches each value).
 */
export type VaeLoopIo = 'float32' | 'rgb8';

interface LoopSpec {
  readonly g: GraphBuilder;
  readonly weights: WeightTable;
  readonly dtype: ComputeDtype;
  readonly hw: (level: number) => readonly [Dim, Dim];
  /** [1, C, frames, …] float32 graph input; chunk 0 is frame 0, chunk i ≥ 1 frames 1 + (i−1)·per … i·per. */
  readonly input: string;
  readonly per: number;
  /** int64 scalar: number of chunks (≥ 1). */
  readonly trips: string;
  /** One chunk through the network; 'first' mode for chunk 0. */
  readonly net: (L: VaeLayers, chunk: string) => string;
  /** One iteration's output [1, c, k, H, W] (chunk 0's k − pad frames are padded to k in front with zeros). */
  readonly out: { readonly c: number; readonly k: number; readonly pad: number; readonly dtype: OnnxDtype; readonly hw: readonly [Dim, Dim] };
  /**
   * Each iteration's output as RGB bytes [k, H, W, 3] (c = 3, values in [-1, 1]), converted inside the body so the
   * stacked video is held in uint8; the Loop then returns [trips·k − pad, H, W, 3].
   */
  readonly rgb8?: boolean;
}

/**
 * [1, 3, k, H, W] in [-1, 1] → uint8 [k, H, W, 3]: round(clamp(x/2 + 1/2, 0, 1) · 255) in float32, rounding half
 * to even (ONNX Round), as the reference's conversion to uint8 (and signedToRgb on the host).
 */
function signedToRgbOps(g: GraphBuilder, x: string, dtype: OnnxDtype): string {
  const f = dtype === 'float32' ? x : g.op('Cast', [x], { to: OnnxDataType.float32 });
  const unit = g.op('Clip', [g.op('Add', [g.op('Mul', [f, g.scalar(0.5)]), g.scalar(0.5)]), g.scalar(0), g.scalar(1)]);
  const bytes = g.op('Cast', [g.op('Round', [g.op('Mul', [unit, g.scalar(255)])])], { to: OnnxDataType.uint8 });
  return g.op('Squeeze', [g.op('Transpose', [bytes], { perm: [0, 2, 3, 4, 1] }), g.i64([0])]);
}

/** uint8 [F, H, W, 3] → [1, 3, F, H, W] float32 in [-1, 1]: x / 127.5 − 1 in float32, as the reference (and rgbToSigned). */
function rgbToSignedOps(g: GraphBuilder, frames: string): string {
  const planar = g.op('Unsqueeze', [g.op('Transpose', [frames], { perm: [3, 0, 1, 2] }), g.i64([0])]);
  return g.op('Sub', [g.op('Div', [g.op('Cast', [planar], { to: OnnxDataType.float32 }), g.scalar(127.5)]), g.scalar(1)]);
}

/** Runs the chunks; returns every chunk's output along time: [1, c, trips·k − pad, H, W] in `out.dtype`. */
function chunkLoop(s: LoopSpec): string {
  const { g, out } = s;
  const body = g.subgraph(`${g.name}_body`);
  const iter = body.input(body.fresh('iter'), 'int64', []);
  const cond = body.input(body.fresh('cond'), 'bool', []);
  const isLast = body.op('Equal', [iter, body.op('Sub', [s.trips, body.i64Scalar(1)])]);
  const cacheEnd = body.op('Where', [isLast, body.i64([0]), body.i64([2 ** 62])]); // the final state is empty
  const yDims = [1, out.c, out.k, ...out.hw];

  const stepG = body.subgraph('step');
  const step = new VaeLayers(stepG, s.weights, s.dtype, 'step', s.hw, { cacheIo: 'loop', stateScope: body, cacheEnd });
  const start = stepG.op('Add', [stepG.op('Mul', [stepG.op('Reshape', [iter, stepG.i64([1])]), stepG.i64([s.per])]), stepG.i64([1 - s.per])]);
  const y = s.net(step, stepG.op('Slice', [s.input, start, stepG.op('Add', [start, stepG.i64([s.per])]), stepG.i64([2])]));
  step.finish();
  stepG.output(y, y, out.dtype, yDims);

  const firstG = body.subgraph('first');
  const first = new VaeLayers(firstG, s.weights, s.dtype, 'first', s.hw, { cacheIo: 'loop', cacheEnd });
  let y0 = s.net(first, first.frames(s.input, 0, 1));
  if (out.pad > 0) {
    const shape = firstG.op('Concat', [firstG.i64([1, out.c, out.pad]), first.dims(y0, 3, 5)], { axis: 0 });
    const zeros = firstG.op('ConstantOfShape', [shape], { value: tensorAttr(out.dtype, [1], new Uint8Array(ONNX_DTYPE_BYTES[out.dtype])) });
    y0 = first.concatT([zeros, y0]);
  }
  const reads = step.cacheReads;
  first.finish(reads.map((c) => c.name));
  firstG.output(y0, y0, out.dtype, yDims);

  const isFirst = body.op('Equal', [iter, body.i64Scalar(0)]);
  const names = [...reads.map(() => body.fresh('cache_out')), body.fresh('y')];
  body.node('If', [isFirst], { then_branch: graph(firstG), else_branch: graph(stepG) }, { outputNames: names });
  body.output(cond, body.fresh('cond_out'), 'bool', []);
  reads.forEach((c, i) => body.output(names[i], names[i], s.dtype, c.dims));
  if (s.rgb8) {
    const rgb = signedToRgbOps(body, names[reads.length], out.dtype);
    body.output(rgb, rgb, 'uint8', [out.k, ...out.hw, 3]);
  } else {
    body.output(names[reads.length], names[reads.length], out.dtype, yDims);
  }

  // empty initial state: [1, C, k, 0, 0] placeholders (iteration 0 ignores them)
  const zero = tensorAttr(s.dtype, [1], new Uint8Array(ONNX_DTYPE_BYTES[s.dtype]));
  const init = reads.map((c) => g.op('ConstantOfShape', [g.i64([1, c.dims[1] as number, c.k, 0, 0])], { value: zero }));
  const scan = g.node('Loop', [s.trips, '', ...init], { body: graph(body) }, { outputs: reads.length + 1 })[reads.length]; // [n, 1, c, k, H, W]
  if (s.rgb8) {
    // [n, k, H, W, 3] → [n·k, H, W, 3], chunk 0's padding dropped
    const frames = g.op('Reshape', [scan, g.op('Concat', [g.i64([-1]), g.op('Shape', [scan], { start: 2 })], { axis: 0 })]);
    return out.pad > 0 ? g.op('Slice', [frames, g.i64([out.pad]), g.i64([2 ** 62]), g.i64([0])]) : frames;
  }
  const hw = g.op('Shape', [scan], { start: 4, end: 6 });
  const t6 = g.op('Transpose', [scan], { perm: [1, 2, 0, 3, 4, 5] }); // [1, c, n, k, H, W]
  const all = g.op('Reshape', [t6, g.op('Concat', [g.i64([1, out.c, -1]), hw], { axis: 0 })]); // [1, c, n·k, H, W]
  return out.pad > 0 ? g.op('Slice', [all, g.i64([out.pad]), g.i64([2 ** 62]), g.i64([2])]) : all;
}

/** int64 scalar 1 + (dims(x)[2] − 1) / per: the number of chunks. */
function chunkCount(g: GraphBuilder, x: string, per: number): string {
  const later = g.op('Sub', [g.op('Shape', [x], { start: 2, end: 3 }), g.i64([1])]);
  return g.op('Squeeze', [g.op('Add', [per === 1 ? later : g.op('Div', [later, g.i64([per])]), g.i64([1])]), g.i64([0])]);
}

/**
 * `vae_encoder_loop`: `pixels` [1, 3, F, H, W] float32 in [-1, 1], F = 4k+1 → `mu` [1, z, k+1, H/16, W/16]
 * float32; frame 0, then k chunks of 4 frames. Equals vae_encoder_first + vae_encoder_step run chunk by chunk.
 * `vae_encoder_loop_rgb8` (io 'rgb8') takes `frames` [F, H, W, 3] uint8 instead and converts them first.
 */
export function buildVaeEncoderLoopGraph(cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype, io: VaeLoopIo = 'float32'): GraphBuilder {
  const v = vaeDims(cfg);
  const g = new GraphBuilder(io === 'rgb8' ? 'vae_encoder_loop_rgb8' : 'vae_encoder_loop');
  const pixels = io === 'rgb8'
    ? rgbToSignedOps(g, g.input('frames', 'uint8', ['frames', 'height', 'width', 3]))
    : g.input('pixels', 'float32', [1, 3, 'frames', 'height', 'width']);
  const sp = v.spatialFactor;
  const hw: [Dim, Dim] = [`height/${sp}`, `width/${sp}`];
  const mu = chunkLoop({
    g, weights, dtype, hw: encoderHw(v), input: pixels, per: v.temporalFactor, trips: chunkCount(g, pixels, v.temporalFactor),
    net: (L, chunk) => encoderNet(L, v, chunk), out: { c: v.zDim, k: 1, pad: 0, dtype: 'float32', hw },
  });
  g.output(mu, 'mu', 'float32', [1, v.zDim, 'latent_frames', ...hw]);
  return g;
}

/**
 * `vae_decoder_loop`: raw `latent` [1, z, T, h, w] float32 → `pixels` [1, 3, 4(T−1)+1, 16h, 16w] float32 in
 * [-1, 1]; latent frame 0, then one latent frame per iteration. Equals vae_decoder_first + vae_decoder_step
 * run one latent frame at a time. Pixels are stacked in the compute dtype (exact: they come from it) and
 * cast to float32 once. `vae_decoder_loop_rgb8` (io 'rgb8') returns `frames` [4(T−1)+1, 16h, 16w, 3] uint8
 * instead, each iteration's pixels converted in the Loop body.
 */
export function buildVaeDecoderLoopGraph(cfg: VaeConfig, weights: WeightTable, dtype: ComputeDtype, io: VaeLoopIo = 'float32'): GraphBuilder {
  const v = vaeDims(cfg);
  const g = new GraphBuilder(io === 'rgb8' ? 'vae_decoder_loop_rgb8' : 'vae_decoder_loop');
  const latent = g.input('latent', 'float32', [1, v.zDim, 'latent_frames', 'latent_h', 'latent_w']);
  const sp = v.spatialFactor;
  const hw: [Dim, Dim] = [`latent_h*${sp}`, `latent_w*${sp}`];
  const tf = v.temporalFactor;
  const pix = chunkLoop({
    g, weights, dtype, hw: decoderHw, input: latent, per: 1, trips: chunkCount(g, latent, 1),
    net: (L, chunk) => L.toCompute(decoderNet(L, v, chunk)), out: { c: 3, k: tf, pad: tf - 1, dtype, hw }, rgb8: io === 'rgb8',
  });
  if (io === 'rgb8') {
    g.output(pix, 'frames', 'uint8', ['frames', ...hw, 3]);
    return g;
  }
  g.output(dtype === 'float32' ? pix : g.op('Cast', [pix], { to: OnnxDataType.float32 }), 'pixels', 'float32', [1, 3, 'frames', ...hw]);
  return g;
}
