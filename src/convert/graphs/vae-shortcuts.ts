import type { Act, VaeLayers } from './vae-layers.js';

/**
 * The residual VAE's parameter-free shortcuts (fixtures README, "Avg-down" / "Dup-up"). Neither has weights;
 * both follow the chunk rules of the layers they bypass.
 */

/**
 * Avg-down a → b (time factor ft, space factor fs) as one strided Conv whose constant kernel averages each
 * group of g = a·ft·fs²/b folded channels (folded index c·ft·fs² + t_off·fs² + h_off·fs + w_off). A sequence
 * start ('first'/'full') is left-padded with one zero frame when ft = 2 (T is odd there; later chunks are even).
 */
export function avgDown(L: VaeLayers, x: Act, b: number, ft: number, fs: number): Act {
  const a = x.c;
  if (ft === 1 && fs === 1 && a === b) return x;
  const cell = ft * fs * fs;
  const grp = (a * cell) / b;
  const k = new Float32Array(b * a * cell); // [b, a, ft, fs, fs]
  for (let c = 0; c < a; c++) {
    for (let off = 0; off < cell; off++) {
      const o = Math.floor((c * cell + off) / grp);
      k[(o * a + c) * cell + off] = 1 / grp;
    }
  }
  const padT = L.mode !== 'step' && ft === 2 ? 1 : 0;
  const v = L.g.op('Conv', [x.v, L.constC(k, [b, a, ft, fs, fs])], { strides: [ft, fs, fs], pads: [padT, 0, 0, 0, 0, 0] });
  const t = x.t === null ? null : (x.t + padT) / ft;
  return { v, c: b, t, level: x.level + (fs === 2 ? 1 : 0) };
}

/**
 * Dup-up a → b: input channel k // r (r = b·ft·fs²/a) fills folded channel k = o·ft·fs² + t_off·fs² + h_off·fs
 * + w_off, unfolded to (o, t·ft + t_off, h·fs + h_off, w·fs + w_off); a sequence start drops its first ft−1
 * frames. Expand + Transpose + Reshape (no arithmetic).
 */
export function dupUp(L: VaeLayers, x: Act, b: number, ft: number, fs: number): Act {
  const g = L.g;
  const r = (b * ft * fs * fs) / x.c;
  const hw = L.dims(x.v, 3, 5);
  const rep = g.op('Expand', [g.op('Unsqueeze', [x.v, g.i64([2])]), g.i64([1, 1, r, 1, 1, 1])]); // [1, a, r, T, H, W]
  const t = L.dims(x.v, 2, 3);
  const f8 = g.op('Reshape', [rep, g.op('Concat', [g.i64([1, b, ft, fs, fs]), t, hw], { axis: 0 })]); // [1, b, ft, fs, fs, T, H, W]
  const p8 = g.op('Transpose', [f8], { perm: [0, 1, 5, 2, 6, 3, 7, 4] }); // [1, b, T, ft, H, fs, W, fs]
  let v = g.op('Reshape', [p8, g.op('Concat', [g.i64([1, b, -1]), g.op('Mul', [hw, g.i64([fs, fs])])], { axis: 0 })]); // [1, b, T·ft, H·fs, W·fs]
  let frames = x.t === null ? null : x.t * ft;
  if (L.mode !== 'step' && ft > 1) {
    v = L.frames(v, ft - 1, 2 ** 62);
    frames = frames === null ? null : frames - (ft - 1);
  }
  return { v, c: b, t: frames, level: x.level - (fs === 2 ? 1 : 0) };
}
