import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseHeader, readHeaderLength } from '../../src/convert/safetensors/index.js';

/** Test-only access to the golden fixtures in test/fixtures (never ../shared). */

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const TINY_DIR = path.join(FIXTURES_DIR, 'cosmos3-tiny');

export type FixtureArray = Float32Array | BigInt64Array | Uint8Array | Float64Array;

export interface FixtureTensor {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: FixtureArray;
}

/** Read every tensor of a safetensors file (F32, F64, I64, U8 are enough for the golden cases), synchronously,
 * with the project's own header parser and its checks. */
export function readSafetensors(file: string): Map<string, FixtureTensor> {
  const buf = readFileSync(file);
  const headerLength = readHeaderLength(file, buf.subarray(0, 8), buf.length);
  const header = parseHeader(file, buf.subarray(8, 8 + headerLength), buf.length);
  const out = new Map<string, FixtureTensor>();
  for (const t of header.tensors.values()) {
    const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset + t.fileOffset, buf.byteOffset + t.fileOffset + t.byteLength));
    let data: FixtureArray;
    switch (t.dtype) {
      case 'F32':
        data = new Float32Array(bytes.buffer);
        break;
      case 'F64':
        data = new Float64Array(bytes.buffer);
        break;
      case 'I64':
        data = new BigInt64Array(bytes.buffer);
        break;
      case 'U8':
        data = bytes;
        break;
      default:
        throw new Error(`fixture ${file}: unsupported dtype ${t.dtype} for ${t.name}`);
    }
    out.set(t.name, { dtype: t.dtype, shape: [...t.shape], data });
  }
  return out;
}

export interface GoldenCase {
  readonly name: string;
  readonly tensors: Map<string, FixtureTensor>;
  readonly scalars: Record<string, unknown>;
  f32(name: string): Float32Array;
  i64(name: string): BigInt64Array;
  u8(name: string): Uint8Array;
  shape(name: string): number[];
  has(name: string): boolean;
}

const cache = new Map<string, GoldenCase>();

/** Load `<case>.safetensors` + `<case>.json` from the tiny fixture folder (cached per process). */
export function loadCase(name: string): GoldenCase {
  const hit = cache.get(name);
  if (hit) return hit;
  const tensors = readSafetensors(path.join(TINY_DIR, `${name}.safetensors`));
  const json = JSON.parse(readFileSync(path.join(TINY_DIR, `${name}.json`), 'utf8')) as {
    scalars: Record<string, { value: unknown }>;
  };
  const scalars: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json.scalars)) scalars[k] = v.value;
  const get = (n: string): FixtureTensor => {
    const t = tensors.get(n);
    if (!t) throw new Error(`fixture ${name}: no tensor ${n}`);
    return t;
  };
  const c: GoldenCase = {
    name,
    tensors,
    scalars,
    f32: (n) => get(n).data as Float32Array,
    i64: (n) => get(n).data as BigInt64Array,
    u8: (n) => get(n).data as Uint8Array,
    shape: (n) => get(n).shape,
    has: (n) => tensors.has(n),
  };
  cache.set(name, c);
  return c;
}

export function readTinyText(rel: string): string {
  return readFileSync(path.join(TINY_DIR, rel), 'utf8');
}

export function readTinyJson<T = unknown>(rel: string): T {
  return JSON.parse(readTinyText(rel)) as T;
}

export function readFixtureJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, rel), 'utf8')) as T;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function toNumbers(a: BigInt64Array): number[] {
  return Array.from(a, (x) => Number(x));
}
