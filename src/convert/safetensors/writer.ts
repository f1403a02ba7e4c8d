import { open } from 'node:fs/promises';
import type { SafetensorsDtype } from './dtypes.js';
import { SAFETENSORS_DTYPES } from './dtypes.js';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView;
}

/**
 * Write a safetensors file (used for the generated tiny checkpoint and test data). Tensors are streamed
 * to disk one at a time after the header; `tensors` may be a generator so nothing large is held at once.
 */
export async function writeSafetensors(
  file: string,
  specs: readonly Omit<TensorToWrite, 'data'>[],
  data: (name: string) => ArrayBufferView | Promise<ArrayBufferView>,
  metadata: Record<string, string> = { format: 'pt' },
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[s.dtype];
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const fh = await open(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    await fh.write(len);
    await fh.write(json);
    for (const s of specs) {
      const d = await data(s.name);
      const n = s.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[s.dtype];
      if (d.byteLength !== n) throw new RangeError(`writeSafetensors: ${s.name} has ${d.byteLength} bytes, expected ${n}`);
      await fh.write(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  } finally {
    await fh.close();
  }
}
