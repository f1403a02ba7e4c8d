import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link as hardLink, open, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointTensorError } from '../shared/index.js';
import type { ExternalRef, OnnxDtype } from './onnx/index.js';
import { ONNX_DTYPE_BYTES } from './onnx/index.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, type SafetensorsDtype, type SafetensorsReader } from './safetensors/index.js';

/** 'compute': stored in the graph's compute dtype; 'float32': always float32 (e.g. the time embedder). */
export type WeightRole = 'compute' | 'float32';

export interface WeightSpec {
  readonly name: string;
  /** Expected dims; ANY_SIZE where the checkpoint decides (e.g. the timestep embedder's frequency width). */
  readonly shape: readonly number[];
  readonly role: WeightRole;
}

/** A spec dimension that any positive size satisfies; the placed weight then carries the checkpoint's size. */
export const ANY_SIZE = -1;

const describeShape = (shape: readonly number[]): string => `[${shape.map((d) => (d === ANY_SIZE ? 'any' : String(d))).join(', ')}]`;

export type ComputeDtype = 'float32' | 'float16' | 'bfloat16';

export interface PlacedWeight {
  readonly dtype: OnnxDtype;
  readonly shape: readonly number[];
  readonly ref: ExternalRef;
}

/** Graph builders look weights up here by checkpoint name. */
export interface WeightTable {
  get(name: string): PlacedWeight;
}

const SOURCE_DTYPE: Partial<Record<SafetensorsDtype, OnnxDtype>> = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' };

/** Refuse a checkpoint that lacks a tensor or has it in another shape, naming it and the expected shape. */
export function checkWeights(reader: SafetensorsReader, specs: readonly WeightSpec[]): void {
  checkBlockCounts(reader, specs);
  for (const s of specs) {
    const t = reader.get(s.name);
    if (!t) throw new CheckpointTensorError(s.name, `missing from the checkpoint; expected shape ${describeShape(s.shape)}`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => (s.shape[i] === ANY_SIZE ? d < 1 : d !== s.shape[i]))) {
      throw new CheckpointTensorError(s.name, `has shape [${t.shape.join(', ')}], expected ${describeShape(s.shape)}`);
    }
    if (!SOURCE_DTYPE[t.dtype]) throw new CheckpointTensorError(s.name, `has dtype ${t.dtype}; expected F32, BF16 or F16`);
  }
}

/**
 * Refuse a checkpoint that holds more numbered blocks than its config describes (`layers.36.*` when
 * num_hidden_layers is 36, a resnet beyond the VAE's num_res_blocks; every number in a name counts): converting
 * would silently drop them. Other tensors the graphs do not read (a language head, say) are left alone.
 */
function checkBlockCounts(reader: SafetensorsReader, specs: readonly WeightSpec[]): void {
  const family = (name: string) => name.replace(/\.\d+(?=\.)/g, '.#');
  const families = new Set(specs.map((s) => s.name).filter((n) => /\.\d+\./.test(n)).map(family));
  const wanted = new Set(specs.map((s) => s.name));
  for (const name of reader.names().sort()) {
    if (!wanted.has(name) && /\.\d+\./.test(name) && families.has(family(name))) {
      throw new CheckpointTensorError(name, 'is in the checkpoint, but its config.json describes fewer blocks (e.g. num_hidden_layers): the config does not match the weights');
    }
  }
}

export interface PlaceOptions {
  readonly outDir: string;
  /** Base name of the files written for this component, e.g. "transformer". */
  readonly fileBase: string;
  readonly computeDtype: ComputeDtype;
  /**
   * Reference checkpoint bytes in place when the dtype already matches: the safetensors file is hard-linked
   * beside the graphs (ONNX Runtime refuses external data outside the model folder, symlinks included), and
   * copied when the checkpoint sits on another filesystem.
   */
  readonly link: boolean;
  readonly onTensor?: (name: string, bytes: number) => void;
  /** Conversion chunk size in bytes (bounds memory whatever the tensor size). */
  readonly chunkBytes?: number;
}

const ALIGN = 64;

/**
 * Place every weight: link it in the checkpoint when its dtype is already right, else convert it chunk by
 * chunk into `<fileBase>.weights.bin`. Memory use is bounded by the chunk size, not by the checkpoint.
 */
export async function placeWeights(reader: SafetensorsReader, specs: readonly WeightSpec[], opts: PlaceOptions): Promise<Map<string, PlacedWeight>> {
  checkWeights(reader, specs);
  const chunk = opts.chunkBytes ?? 16 * 1024 * 1024;
  const placed = new Map<string, PlacedWeight>();
  const links = new Map<string, string>();
  const binName = `${opts.fileBase}.weights.bin`;
  const binPath = path.join(opts.outDir, binName);
  await rm(binPath, { force: true });
  // links of an earlier conversion into this folder (a re-run, another dtype, --copy-weights): stale links would
  // keep the checkpoint's blocks alive after it is deleted, and their numbering can differ from run to run
  const stale = new RegExp(`^${opts.fileBase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.src\\d+\\.safetensors$`);
  for (const name of await readdir(opts.outDir).catch(() => [] as string[])) {
    if (stale.test(name)) await rm(path.join(opts.outDir, name), { force: true });
  }
  const bin = await open(binPath, 'w');
  let binOffset = 0;
  try {
    for (const s of specs) {
      const t = reader.get(s.name)!;
      const src = SOURCE_DTYPE[t.dtype]!;
      const dst: OnnxDtype = s.role === 'float32' ? 'float32' : opts.computeDtype;
      if (opts.link && src === dst) {
        let link = links.get(t.file);
        if (!link) {
          link = `${opts.fileBase}.src${links.size}.safetensors`;
          const at = path.join(opts.outDir, link);
          await rm(at, { force: true });
          // the file itself, not a symlink to it (a Hugging Face cache's snapshot links into its blobs/ by a
          // relative path, which a hard link to the symlink would carry to a place where it points nowhere)
          await hardLink(await realpath(t.file), at).catch(async (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EXDEV' && err.code !== 'EPERM') throw err;
            await copyFile(t.file, at);
          });
          links.set(t.file, link);
        }
        placed.set(s.name, { dtype: dst, shape: t.shape, ref: { location: link, offset: t.fileOffset, length: t.byteLength } });
      } else {
        const pad = (ALIGN - (binOffset % ALIGN)) % ALIGN;
        if (pad) {
          await bin.write(Buffer.alloc(pad), 0, pad, binOffset);
          binOffset += pad;
        }
        const start = binOffset;
        const srcBytes = ONNX_DTYPE_BYTES[src];
        const elems = t.byteLength / srcBytes;
        const per = Math.max(1, Math.floor(chunk / 4));
        for (let e = 0; e < elems; e += per) {
          const n = Math.min(per, elems - e);
          const raw = await reader.readRange(s.name, e * srcBytes, n * srcBytes);
          const out = convert(raw, src, dst, s.name);
          await bin.write(out, 0, out.byteLength, binOffset);
          binOffset += out.byteLength;
        }
        placed.set(s.name, { dtype: dst, shape: t.shape, ref: { location: binName, offset: start, length: binOffset - start } });
      }
      opts.onTensor?.(s.name, t.byteLength);
    }
  } finally {
    await bin.close();
  }
  if (binOffset === 0) await rm(binPath, { force: true });
  return placed;
}

/** The largest magnitude that rounds to a finite float16 (65504 is the largest float16). */
const F16_OVERFLOW = 65520;

function convert(raw: Buffer, src: OnnxDtype, dst: OnnxDtype, name: string): Uint8Array {
  if (src === dst) return raw;
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  let f32: Float32Array;
  if (src === 'float32') f32 = new Float32Array(copy.buffer);
  else if (src === 'bfloat16') f32 = bf16ToF32(new Uint16Array(copy.buffer));
  else f32 = f16ToF32(new Uint16Array(copy.buffer));
  if (dst === 'float32') return new Uint8Array(f32.buffer);
  if (dst === 'float16') {
    for (const v of f32) {
      if (Math.abs(v) >= F16_OVERFLOW && Number.isFinite(v)) {
        throw new CheckpointTensorError(name, `holds ${v}, outside float16's range (±65504): convert with --dtype bf16 or fp32`);
      }
    }
  }
  const half = dst === 'bfloat16' ? f32ToBf16(f32) : f32ToF16(f32);
  return new Uint8Array(half.buffer);
}

export function tableOf(placed: ReadonlyMap<string, PlacedWeight>): WeightTable {
  return {
    get(name) {
      const w = placed.get(name);
      if (!w) throw new Error(`weight ${name} was not placed (missing from the weight specs)`);
      return w;
    },
  };
}

/** sha256 and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const { size } = await stat(file);
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })
      .on('data', (c) => h.update(c))
      .on('end', resolve)
      .on('error', reject);
  });
  return { bytes: size, sha256: h.digest('hex') };
}
