import { access, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTmpDir } from '../../src/media/index.js';
import { scratchDir } from '../support/media-fixtures.js';

describe('createTmpDir', () => {
  let root: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    root = await scratchDir('tmp');
  });
  afterAll(() => root.cleanup());

  it('creates an owned dir under the root and removes it recursively', async () => {
    const tmp = await createTmpDir('unit', { root: root.path });
    expect(tmp.path.startsWith(join(root.path, 'c3s-unit-'))).toBe(true);
    await writeFile(tmp.file('a.bin'), 'x');
    await mkdir(join(tmp.path, 'nested'));
    await writeFile(join(tmp.path, 'nested', 'b.bin'), 'y');
    await tmp.remove();
    await expect(access(tmp.path)).rejects.toThrow();
    expect(await readdir(root.path)).toEqual([]);
  });

  it('remove() is idempotent, also when called concurrently or after the dir vanished', async () => {
    const tmp = await createTmpDir('idem', { root: root.path });
    await Promise.all([tmp.remove(), tmp.remove()]);
    await tmp.remove();
    expect(await readdir(root.path)).toEqual([]);
  });

  it('file() accepts only plain names', async () => {
    const tmp = await createTmpDir('names', { root: root.path });
    try {
      expect(tmp.file('out.mp4')).toBe(join(tmp.path, 'out.mp4'));
      for (const bad of ['', '.', '..', '../x', 'a/b', '/etc/passwd']) expect(() => tmp.file(bad)).toThrow(RangeError);
    } finally {
      await tmp.remove();
    }
  });

  it('rejects prefixes that could escape the root', async () => {
    await expect(createTmpDir('../x', { root: root.path })).rejects.toThrow(RangeError);
    await expect(createTmpDir('', { root: root.path })).rejects.toThrow(RangeError);
  });
});
