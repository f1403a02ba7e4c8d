import { SafetensorsFormatError } from '../../shared/index.js';
import { SAFETENSORS_DTYPES, isSafetensorsDtype, type SafetensorsDtype } from './dtypes.js';

/** One tensor's entry in a safetensors file, with offsets made absolute in the file. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte offset of the first element from the start of the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly headerLength: number;
  readonly dataStart: number;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Largest header we accept (the format's own reference limit is 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parse and validate a safetensors header. `prefix8` is the first 8 bytes of the file, `json` the next
 * `headerLength` bytes, `fileSize` the file's size. Every failure names the file and the rule.
 */
export function readHeaderLength(file: string, prefix8: Buffer, fileSize: number): number {
  if (fileSize < 8 || prefix8.length < 8) throw new SafetensorsFormatError(file, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = prefix8.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsFormatError(file, `header length ${n} is outside 2..${MAX_HEADER_BYTES}`);
  if (Number(n) + 8 > fileSize) throw new SafetensorsFormatError(file, `header length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

export function parseHeader(file: string, json: Buffer, fileSize: number): SafetensorsHeader {
  const headerLength = json.length;
  const dataStart = 8 + headerLength;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch (cause) {
    throw new SafetensorsFormatError(file, 'header is not valid UTF-8', { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new SafetensorsFormatError(file, `header is not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsFormatError(file, 'header is not a JSON object');
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  const dataSize = fileSize - dataStart;
  const spans: [number, number, string][] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof v !== 'object' || v === null) throw new SafetensorsFormatError(file, `entry ${name} is not an object`);
    if (typeof v.dtype !== 'string' || !isSafetensorsDtype(v.dtype)) throw new SafetensorsFormatError(file, `entry ${name} has unknown dtype ${String(v.dtype)}`);
    if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsFormatError(file, `entry ${name} has an invalid shape`);
    const off = v.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[1] < off[0]) {
      throw new SafetensorsFormatError(file, `entry ${name} has invalid data_offsets`);
    }
    const shape = v.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[v.dtype];
    const [begin, end] = off as [number, number];
    if (end - begin !== expected) throw new SafetensorsFormatError(file, `entry ${name}: data_offsets span ${end - begin} bytes, dtype ${v.dtype} shape [${shape.join(', ')}] needs ${expected}`);
    if (end > dataSize) throw new SafetensorsFormatError(file, `entry ${name}: data ends at ${end}, past the ${dataSize}-byte data section`);
    spans.push([begin, end, name]);
    tensors.set(name, { name, dtype: v.dtype, shape, fileOffset: dataStart + begin, byteLength: end - begin });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new SafetensorsFormatError(file, `entries ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
  }
  return { headerLength, dataStart, tensors, metadata };
}
