import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readTar, TarFormatError } from '../../native/read-tar.mjs';
import { tar } from './support/tar-writer.js';

describe('native/read-tar.mjs', () => {
  it('follows pax and GNU long names and skips what the callback declines', async () => {
    const long = `package/${'d'.repeat(120)}/file.txt`;
    const paxBody = (() => {
      const rec = ` path=${long}\n`;
      let len = rec.length + 2;
      if (String(len).length !== 2) len = rec.length + String(len).length;
      return Buffer.from(`${len}${rec}`);
    })();
    const archive = tar([
      { name: 'PaxHeader/x', type: 'x', data: paxBody },
      { name: 'package/short', data: Buffer.from('pax file') },
      { name: '././@LongLink', type: 'L', data: Buffer.from(`${long}.gnu\0`) },
      { name: 'package/short2', data: Buffer.from('gnu file') },
      { name: 'package/skipped', data: Buffer.alloc(3000, 7) },
      { name: 'package/plain', data: Buffer.from('plain') },
    ]);
    const seen: Record<string, string> = {};
    // feed it in awkward 100-byte pieces to cross every boundary
    const pieces = Array.from({ length: Math.ceil(archive.length / 100) }, (_, i) => archive.subarray(i * 100, (i + 1) * 100));
    await readTar(Readable.from(pieces), (entry) => {
      if (entry.name === 'package/skipped') return undefined;
      const parts: Buffer[] = [];
      return { write: (c) => parts.push(Buffer.from(c)), end: () => { seen[entry.name] = Buffer.concat(parts).toString(); } };
    });
    expect(seen).toEqual({ [long]: 'pax file', [`${long}.gnu`]: 'gnu file', 'package/plain': 'plain' });
  });

  it('rejects a corrupt header', async () => {
    const archive = tar([{ name: 'package/a', data: Buffer.from('x') }]);
    archive[0] ^= 0xff;
    await expect(readTar(Readable.from([archive]), () => undefined)).rejects.toThrow(TarFormatError);
    await expect(readTar(Readable.from([archive]), () => undefined)).rejects.toThrow('checksum mismatch');
  });
});
