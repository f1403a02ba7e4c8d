import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTinyModel, tinyFingerprint } from '../../../src/convert/tiny/index.js';
import { TINY_TRANSFORMER_CONFIG } from '../../../src/convert/tiny/tiny-config.js';
import { DOMAINS } from '../../../src/config/modes.js';
import { scratchDir } from '../../support/media-fixtures.js';

const dir = await scratchDir('tiny-ensure');
afterAll(() => dir.cleanup());

describe('ensureTinyModel', () => {
  it('makes the model once, and again when it was made from other definitions', async () => {
    const m = join(dir.path, 'tiny');
    expect(await ensureTinyModel(m)).toEqual({ created: true });
    expect(await ensureTinyModel(m)).toEqual({ created: false });
    expect(JSON.parse(await readFile(join(m, 'tiny-model.json'), 'utf8'))).toEqual({ fingerprint: tinyFingerprint() });
    // a model left by an earlier tiny definition (same converter): made again, not served stale
    await writeFile(join(m, 'tiny-model.json'), JSON.stringify({ fingerprint: tinyFingerprint(1) }));
    expect(await ensureTinyModel(m)).toEqual({ created: true });
    await writeFile(join(m, 'tiny-model.json'), '{not json');
    expect(await ensureTinyModel(m)).toEqual({ created: true });
    expect(await ensureTinyModel(m)).toEqual({ created: false });
    expect((await readdir(dir.path)).sort()).toEqual(['tiny']); // no build folder or lock left beside it
  }, 120_000);

  it('fingerprints the seed and the configs', () => {
    expect(tinyFingerprint()).toMatch(/^[0-9a-f]{64}$/);
    expect(tinyFingerprint(1)).not.toBe(tinyFingerprint());
  });

  it('pads actions wide enough for every domain', () => {
    expect(TINY_TRANSFORMER_CONFIG.action_dim).toBeGreaterThanOrEqual(Math.max(...Object.values(DOMAINS).map((d) => d.rawDim)));
  });
});
