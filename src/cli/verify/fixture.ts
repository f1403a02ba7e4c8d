import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { FixtureError, type HostTensor, type TensorData } from '../../shared/index.js';
import { SafetensorsReader } from '../../convert/index.js';

/** One golden case: `<case>.safetensors` tensors + `<case>.json` scalars (fixtures README format). */
export interface GoldenCase {
  readonly name: string;
  readonly description: string;
  readonly scalars: Readonly<Record<string, unknown>>;
  readonly tensorNames: readonly string[];
  tensor(name: string): Promise<HostTensor<TensorData>>;
  f32(name: string): Promise<HostTensor<Float32Array>>;
  i64(name: string): Promise<number[]>;
  has(name: string): boolean;
  close(): Promise<void>;
}

export async function listCases(fixtureDir: string): Promise<string[]> {
  try {
    const m = JSON.parse(await readFile(path.join(fixtureDir, 'manifest.json'), 'utf8')) as { cases?: string[] };
    if (Array.isArray(m.cases)) return m.cases;
  } catch {
    // fall back to scanning the folder
  }
  const names = await readdir(fixtureDir).catch((cause) => {
    throw new FixtureError(fixtureDir, 'cannot be read', { cause });
  });
  return names.filter((n) => n.endsWith('.json') && names.includes(n.replace(/\.json$/, '.safetensors'))).map((n) => n.replace(/\.json$/, '')).sort();
}

export async function openCase(fixtureDir: string, name: string): Promise<GoldenCase> {
  let meta: { description?: string; scalars?: Record<string, { value: unknown }>; tensors?: Record<string, unknown> };
  try {
    meta = JSON.parse(await readFile(path.join(fixtureDir, `${name}.json`), 'utf8'));
  } catch (cause) {
    throw new FixtureError(`${fixtureDir}/${name}.json`, 'missing or not JSON', { cause });
  }
  const reader = await SafetensorsReader.open(path.join(fixtureDir, `${name}.safetensors`));
  const scalars = Object.fromEntries(Object.entries(meta.scalars ?? {}).map(([k, v]) => [k, v.value]));
  const c: GoldenCase = {
    name,
    description: meta.description ?? '',
    scalars,
    tensorNames: reader.names(),
    has: (n) => reader.has(n),
    async tensor(n) {
      const t = reader.get(n);
      if (!t) throw new FixtureError(name, `has no tensor ${n}`);
      const bytes = await reader.readBytes(n);
      const copy = new Uint8Array(bytes.byteLength);
      copy.set(bytes);
      switch (t.dtype) {
        case 'F32': return { data: new Float32Array(copy.buffer), shape: t.shape };
        case 'I64': return { data: new BigInt64Array(copy.buffer), shape: t.shape };
        case 'U8': return { data: copy, shape: t.shape };
        default: return { data: await reader.readFloat32(n), shape: t.shape };
      }
    },
    async f32(n) {
      const t = reader.get(n);
      if (!t) throw new FixtureError(name, `has no tensor ${n}`);
      if (t.dtype === 'I64') {
        const v = (await c.tensor(n)).data as BigInt64Array;
        return { data: Float32Array.from(v, (x) => Number(x)), shape: t.shape };
      }
      return { data: await reader.readFloat32(n), shape: t.shape };
    },
    async i64(n) {
      const t = await c.tensor(n);
      if (!(t.data instanceof BigInt64Array)) throw new FixtureError(name, `tensor ${n} is not int64`);
      return Array.from(t.data, (x) => Number(x));
    },
    close: () => reader.close(),
  };
  return c;
}
