/**
 * Natural logarithm rounded (almost always) correctly to float64. numpy's Gaussians go through the C
 * library's log; V8's Math.log is 1 ulp off on ~6% of inputs, which would change the float64 draw. Here
 * ln x = e ln2 + ln c + 2 atanh((m − c)/(m + c)), with c = k/64 nearest the mantissa m and ln c from a
 * table built once in double-double arithmetic; the error is ~2^-69 relative, so a result is misrounded
 * with probability ~2^-16 (glibc's own log, ≤ 0.52 ulp, differs from the correctly rounded value on
 * ~0.06% of inputs: those few draws may differ from numpy's by 1 ulp in float64, almost never in float32).
 */

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp split)
const LN2_HI = 0.6931471805599453; // ln 2 = LN2_HI + LN2_LO
const LN2_LO = 2.3190468138462996e-17;
const SQRT2 = Math.SQRT2;
const TWO_POW_54 = 18014398509481984;
/** Series terms 1/(2k+3) kept in double-double; the tail after them is summed in plain double. */
const DD_TERMS = 5;
const TAIL_TERMS = 12;

const view = new DataView(new ArrayBuffer(8));

// Scratch result of the double-double helpers (hi, lo), to avoid allocating per call.
let rh = 0;
let rl = 0;

function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  rl = a - (s - bb) + (b - bb);
  rh = s;
}

function twoProd(a: number, b: number): void {
  const p = a * b;
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  rl = ah * bh - p + ah * bl + al * bh + al * bl;
  rh = p;
}

function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  twoSum(ah, bh);
  const sh = rh;
  const sl = rl + al + bl;
  rh = sh + sl;
  rl = sl - (rh - sh);
}

function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const ph = rh;
  const pl = rl + (ah * bl + al * bh);
  rh = ph + pl;
  rl = pl - (rh - ph);
}

const COEF_HI: number[] = [];
const COEF_LO: number[] = [];
for (let k = 0; k < DD_TERMS; k++) {
  const d = 2 * k + 3;
  const hi = 1 / d;
  twoProd(hi, d); // 1 - hi*d, exactly
  const err = 1 - rh - rl;
  COEF_HI.push(hi);
  COEF_LO.push(err / d);
}
const TAIL: number[] = [];
for (let k = DD_TERMS; k < DD_TERMS + TAIL_TERMS; k++) TAIL.push(1 / (2 * k + 3));

/** x = m · 2^e with m in [√2/2, √2] (subnormals scaled first), for x finite and > 0. */
function splitMantissa(x: number): [number, number] {
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= TWO_POW_54;
    e = -54;
  }
  view.setFloat64(0, x);
  const hiWord = view.getUint32(0);
  e += ((hiWord >>> 20) & 0x7ff) - 1023;
  view.setUint32(0, (hiWord & 0x800fffff) | (1023 << 20));
  let m = view.getFloat64(0); // [1, 2)
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  return [m, e];
}

/** ln(x) as a double-double [hi, lo] by the full series (slow: only builds the table below). */
function seriesLog(x: number): [number, number] {
  const [m, e] = splitMantissa(x);
  const f = m - 1; // exact
  // s = f / (2 + f) in double-double
  twoSum(2, f);
  const dh = rh;
  const dl = rl;
  const s1 = f / dh;
  ddMul(s1, 0, dh, dl);
  ddAdd(f, 0, -rh, -rl);
  const s2 = rh / dh;
  twoSum(s1, s2);
  const sh = rh;
  const sl = rl;
  // z = s^2
  ddMul(sh, sl, sh, sl);
  const zh = rh;
  const zl = rl;
  // P(z) = sum_k z^k / (2k+3): tail in double, head in double-double (Horner)
  let tail = 0;
  for (let k = TAIL.length - 1; k >= 0; k--) tail = tail * zh + TAIL[k];
  let ph = tail;
  let pl = 0;
  for (let k = DD_TERMS - 1; k >= 0; k--) {
    ddMul(ph, pl, zh, zl);
    ddAdd(rh, rl, COEF_HI[k], COEF_LO[k]);
    ph = rh;
    pl = rl;
  }
  // log(m) = 2 s + 2 s z P
  ddMul(zh, zl, ph, pl);
  ddMul(rh, rl, sh, sl);
  ddAdd(sh, sl, rh, rl);
  const lh = 2 * rh;
  const ll = 2 * rl;
  twoProd(e, LN2_HI);
  ddAdd(rh, rl + e * LN2_LO, lh, ll);
  return [rh, rl];
}


const TABLE_STEPS = 64;
// fdlibm's split of ln 2: e * LN2_HI_SHORT is exact for |e| < 2^11.
const LN2_HI_SHORT = 6.93147180369123816490e-1;
const LN2_LO_SHORT = 1.90821492927058770002e-10;
const LOGC_MIN = Math.floor(TABLE_STEPS * Math.SQRT1_2);
const LOGC_HI: number[] = [];
const LOGC_LO: number[] = [];
for (let k = LOGC_MIN; k <= Math.ceil(TABLE_STEPS * SQRT2); k++) {
  const c = k / TABLE_STEPS;
  const [hi, lo] = seriesLog(c);
  LOGC_HI.push(hi);
  LOGC_LO.push(lo);
}

/** ln(x) for finite x > 0 (other inputs: Math.log's answer). */
export function exactLog(x: number): number {
  if (!(x > 0) || x === Infinity) return Math.log(x);
  const [m, e] = splitMantissa(x);
  const k = Math.round(m * TABLE_STEPS);
  const c = k / TABLE_STEPS;
  const num = m - c; // exact
  // The two-sums and the two-product below are twoSum / twoProd written out: calling the helpers (which return
  // through module-level scratch) made this ~25–100% slower per log (58 ns → 72–119 ns, 2-core dev machine),
  // and the noise of a 720p video takes 8.3M logs.
  // den = m + c as (dh, dl)
  const dh = m + c;
  const bb = dh - m;
  const dl = m - (dh - bb) + (c - bb);
  // s = num / den as s1 + s2
  const s1 = num / dh;
  let t = SPLITTER * s1;
  const s1h = t - (t - s1);
  const s1l = s1 - s1h;
  t = SPLITTER * dh;
  const dhh = t - (t - dh);
  const dhl = dh - dhh;
  const p = s1 * dh;
  const pe = s1h * dhh - p + s1h * dhl + s1l * dhh + s1l * dhl;
  const s2 = (num - p - pe - s1 * dl) / dh;
  const z = s1 * s1;
  const poly = z * (1 / 3 + z * (1 / 5 + z * (1 / 7 + z / 9)));
  const small = 2 * (s2 + s1 * poly);
  const idx = k - LOGC_MIN;
  // e ln2 + ln c + 2 s1, summed exactly in two steps, then the low parts
  const a = e * LN2_HI_SHORT;
  const b = LOGC_HI[idx];
  const h1 = a + b;
  const b1 = h1 - a;
  const l1 = a - (h1 - b1) + (b - b1);
  const d = 2 * s1;
  const h2 = h1 + d;
  const b2 = h2 - h1;
  const l2 = h1 - (h2 - b2) + (d - b2);
  return h2 + (l2 + l1 + (e * LN2_LO_SHORT + LOGC_LO[idx] + small));
}
