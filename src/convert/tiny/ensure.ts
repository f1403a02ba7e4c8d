import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { convertCheckpoint } from '../convert.js';
import { CONVERTER_VERSION, readManifest } from '../manifest.js';
import { generateTinyCheckpoint, tinyFingerprint } from './generate.js';

/** Beside the converted tiny model: the fingerprint of the definitions it was made from. */
const STAMP_FILE = 'tiny-model.json';

/** The model in `modelDir` is the current converter's output of the current tiny definitions. */
async function isCurrent(modelDir: string): Promise<boolean> {
  const manifest = await readManifest(modelDir).catch(() => null);
  if (manifest?.converterVersion !== CONVERTER_VERSION) return false;
  const stamp = await readFile(path.join(modelDir, STAMP_FILE), 'utf8')
    .then((t) => JSON.parse(t) as { fingerprint?: unknown } | null)
    .catch(() => null);
  return stamp?.fingerprint === tinyFingerprint();
}

/**
 * Make sure the embedded tiny model exists under `modelDir` (default models/tiny): generate the random
 * checkpoint beside it and convert it (float32) on first use, or again when the converter version or the tiny
 * model's definitions (configs, seed, tokenizer) changed.
 * Concurrent callers are serialised with an exclusive lock file; the result is built in a temporary folder
 * and renamed into place, so a half-written model is never served.
 */
export async function ensureTinyModel(modelDir: string): Promise<{ created: boolean }> {
  if (await isCurrent(modelDir)) return { created: false };
  const parent = path.dirname(path.resolve(modelDir));
  await mkdir(parent, { recursive: true });
  const lockFile = `${path.resolve(modelDir)}.lock`;
  const lock = await acquire(lockFile);
  try {
    if (await isCurrent(modelDir)) return { created: false };
    const work = `${path.resolve(modelDir)}.building-${process.pid}`;
    await rm(work, { recursive: true, force: true });
    const ckpt = path.join(work, 'checkpoint');
    const out = path.join(work, 'model');
    await generateTinyCheckpoint(ckpt);
    await convertCheckpoint({ checkpoint: ckpt, out, dtype: 'float32', link: false, hash: true });
    await writeFile(path.join(out, STAMP_FILE), JSON.stringify({ fingerprint: tinyFingerprint() }) + '\n');
    await rm(modelDir, { recursive: true, force: true });
    await rename(out, modelDir);
    await rm(work, { recursive: true, force: true });
    return { created: true };
  } finally {
    await lock();
  }
}

async function acquire(lockFile: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // a lock left by a dead process is stale after its builder would have finished
      const st = await stat(lockFile).catch(() => null);
      if (st && Date.now() - st.mtimeMs > 10 * 60_000) await rm(lockFile, { force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
