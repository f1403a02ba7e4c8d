import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsFormatError } from '../../shared/index.js';
import { parseHeader, readHeaderLength, type TensorEntry } from './header.js';
import { bf16ToF32, f16ToF32 } from './dtypes.js';

/** A tensor located in a checkpoint: its entry plus the file that holds it. */
export interface LocatedTensor extends TensorEntry {
  readonly file: string;
}

/**
 * Read access to one safetensors file or a sharded set (`*.safetensors.index.json`). Only headers are read
 * at open; tensor bytes are read on demand, one tensor at a time, so memory never holds a whole file.
 */
export class SafetensorsReader {
  readonly #tensors: Map<string, LocatedTensor>;
  readonly #handles = new Map<string, FileHandle>();
  readonly files: readonly string[];
  /** Every file this reader read: the shard index (when opened through one), then the safetensors files. */
  readonly sources: readonly string[];

  private constructor(tensors: Map<string, LocatedTensor>, files: string[], indexFile?: string) {
    this.#tensors = tensors;
    this.files = files;
    this.sources = indexFile === undefined ? [...files] : [indexFile, ...files];
  }

  /** Open a `.safetensors` file, a `.index.json` shard index, or a folder holding exactly one of those. */
  static async open(target: string): Promise<SafetensorsReader> {
    const st = await stat(target).catch((cause) => {
      throw new SafetensorsFormatError(target, 'does not exist or cannot be read', { cause });
    });
    if (st.isDirectory()) return SafetensorsReader.open(await findWeightsIn(target));
    if (target.endsWith('.index.json')) return SafetensorsReader.#openIndex(target);
    const tensors = new Map<string, LocatedTensor>();
    await addFile(target, tensors);
    return new SafetensorsReader(tensors, [target]);
  }

  static async #openIndex(indexFile: string): Promise<SafetensorsReader> {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(await readFile(indexFile, 'utf8'));
    } catch (cause) {
      throw new SafetensorsFormatError(indexFile, 'shard index is not valid JSON', { cause });
    }
    const raw: unknown = index.weight_map;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsFormatError(indexFile, 'shard index has no weight_map object');
    const bad = Object.entries(raw).find(([, v]) => typeof v !== 'string');
    if (bad) throw new SafetensorsFormatError(indexFile, `weight_map entry ${bad[0]} is not a shard file name`);
    const weightMap = raw as Record<string, string>;
    const dir = path.dirname(indexFile);
    const shards = [...new Set(Object.values(weightMap))].sort();
    const tensors = new Map<string, LocatedTensor>();
    const files: string[] = [];
    for (const shard of shards) {
      if (path.isAbsolute(shard) || shard.includes('..')) throw new SafetensorsFormatError(indexFile, `shard name ${shard} leaves the folder`);
      const file = path.join(dir, shard);
      files.push(file);
      await addFile(file, tensors).catch((err: Error) => {
        throw new SafetensorsFormatError(indexFile, `names shard ${shard}, which cannot be read (${err.message})`, { cause: err });
      });
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      const t = tensors.get(name);
      if (!t) throw new SafetensorsFormatError(indexFile, `weight_map names ${name} in ${shard}, but that shard has no such tensor`);
      if (path.basename(t.file) !== path.basename(shard)) throw new SafetensorsFormatError(indexFile, `weight_map puts ${name} in ${shard}, found in ${path.basename(t.file)}`);
    }
    return new SafetensorsReader(tensors, files, indexFile);
  }

  names(): string[] {
    return [...this.#tensors.keys()];
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  get(name: string): LocatedTensor | undefined {
    return this.#tensors.get(name);
  }

  /** The raw little-endian bytes of one tensor. */
  async readBytes(name: string): Promise<Buffer> {
    return this.readRange(name, 0, this.#require(name).byteLength);
  }

  /** `length` bytes of one tensor's data starting `start` bytes into it (for chunked conversion). */
  async readRange(name: string, start: number, length: number): Promise<Buffer> {
    const t = this.#require(name);
    if (start < 0 || length < 0 || start + length > t.byteLength) throw new RangeError(`readRange: ${start}+${length} outside ${name} (${t.byteLength} bytes)`);
    const fh = await this.#handle(t.file);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, t.fileOffset + start + done);
      if (bytesRead === 0) throw new SafetensorsFormatError(t.file, `unexpected end of file reading ${name}`);
      done += bytesRead;
    }
    return buf;
  }

  /** One tensor as float32 (F32, BF16 and F16 sources). */
  async readFloat32(name: string): Promise<Float32Array> {
    const t = this.#require(name);
    const buf = await this.readBytes(name);
    const n = t.byteLength / (t.dtype === 'F32' ? 4 : 2);
    const aligned = new Uint8Array(buf.byteLength);
    aligned.set(buf);
    switch (t.dtype) {
      case 'F32':
        return new Float32Array(aligned.buffer, 0, n);
      case 'BF16':
        return bf16ToF32(new Uint16Array(aligned.buffer, 0, n));
      case 'F16':
        return f16ToF32(new Uint16Array(aligned.buffer, 0, n));
      default:
        throw new SafetensorsFormatError(t.file, `tensor ${name} has dtype ${t.dtype}, not a float type`);
    }
  }

  async close(): Promise<void> {
    const hs = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(hs.map((h) => h.close()));
  }

  #require(name: string): LocatedTensor {
    const t = this.#tensors.get(name);
    if (!t) throw new SafetensorsFormatError(this.files.join(', '), `has no tensor ${name}`);
    return t;
  }

  async #handle(file: string): Promise<FileHandle> {
    let h = this.#handles.get(file);
    if (!h) {
      h = await open(file, 'r');
      this.#handles.set(file, h);
    }
    return h;
  }
}

async function addFile(file: string, into: Map<string, LocatedTensor>): Promise<void> {
  const fh = await open(file, 'r').catch((cause) => {
    throw new SafetensorsFormatError(file, 'cannot be opened', { cause });
  });
  try {
    const { size } = await fh.stat();
    const prefix = Buffer.alloc(8);
    await fh.read(prefix, 0, 8, 0);
    const n = readHeaderLength(file, prefix, size);
    const json = Buffer.alloc(n);
    await fh.read(json, 0, n, 8);
    const header = parseHeader(file, json, size);
    for (const [name, entry] of header.tensors) {
      if (into.has(name)) throw new SafetensorsFormatError(file, `tensor ${name} also appears in ${into.get(name)!.file}`);
      into.set(name, { ...entry, file });
    }
  } finally {
    await fh.close();
  }
}

/** diffusers' file names for a component's weights (variants insert e.g. `.fp16` before the extension). */
const DEFAULT_WEIGHTS = 'diffusion_pytorch_model.safetensors';
const DEFAULT_INDEX = 'diffusion_pytorch_model.safetensors.index.json';

async function findWeightsIn(dir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const names = await readdir(dir);
  // beside variants (diffusion_pytorch_model.fp16.safetensors, sharded or not) the default weights are the ones
  // diffusers loads, sharded or not
  if (names.includes(DEFAULT_INDEX)) return path.join(dir, DEFAULT_INDEX);
  if (names.includes(DEFAULT_WEIGHTS)) return path.join(dir, DEFAULT_WEIGHTS);
  const index = names.filter((n) => n.endsWith('.safetensors.index.json'));
  if (index.length === 1) return path.join(dir, index[0]);
  const single = names.filter((n) => n.endsWith('.safetensors'));
  if (index.length === 0 && single.length === 1) return path.join(dir, single[0]);
  const found = [...index, ...single].sort();
  throw new SafetensorsFormatError(dir, found.length === 0
    ? 'holds no *.safetensors file'
    : `holds ${found.length} weight files (${found.slice(0, 6).join(', ')}${found.length > 6 ? ', …' : ''}): expected one *.safetensors, one *.safetensors.index.json with its shards, or ${DEFAULT_WEIGHTS} among variants`);
}
