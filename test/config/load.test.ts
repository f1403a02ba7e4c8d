import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultModelDir, loadConfig, projectRoot } from '../../src/config/index.js';

describe('loadConfig', () => {
  it('resolves the default model dir to models/tiny under the project root, frozen', () => {
    const c = loadConfig({});
    expect(c.modelDir).toBe(join(projectRoot(), 'models', 'tiny'));
    expect(c.modelDir).toBe(defaultModelDir());
    expect(c.modelDirIsDefault).toBe(true);
    expect(c.apiKey).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.devices)).toBe(true);
    expect(c).toMatchObject({ port: 8080, devices: ['cpu'], requestTimeoutMs: 1_800_000, shutdownGraceMs: 30_000, resultTtlMs: 3_600_000 });
  });

  it('resolves relative paths against cwd and turns seconds into ms', () => {
    const c = loadConfig({ MODEL_DIR: 'm', INPUT_ROOTS: 'a:/abs', RUNNER_MODULE: 'r.mjs', API_KEY: 'k', INPUT_TIMEOUT_S: '1.5' }, { cwd: '/srv' });
    expect(c).toMatchObject({ modelDir: '/srv/m', modelDirIsDefault: false, inputRoots: ['/srv/a', '/abs'], runnerModule: 'file:///srv/r.mjs', apiKey: 'k', inputTimeoutMs: 1500 });
  });

  it('reads PAIRED_GUIDANCE as a switch, off by default', () => {
    expect(loadConfig({}).pairedGuidance).toBe(false);
    for (const v of ['1', 'true', 'ON']) expect(loadConfig({ PAIRED_GUIDANCE: v }).pairedGuidance).toBe(true);
    for (const v of ['0', 'false', 'off', '']) expect(loadConfig({ PAIRED_GUIDANCE: v }).pairedGuidance).toBe(false);
    expect(() => loadConfig({ PAIRED_GUIDANCE: 'maybe' })).toThrow(/PAIRED_GUIDANCE must be 1\/true\/on or 0\/false\/off, got 'maybe'/);
  });

  it('reports every bad value, one line each, in one C3S_ERR_CONFIG', () => {
    expect(() => loadConfig({ PORT: 'x', DEVICES: 'tpu', LOG_LEVEL: 'loud' })).toThrow(
      expect.objectContaining({ code: 'C3S_ERR_CONFIG', message: expect.stringMatching(/PORT must[^]*\n[^]*DEVICES must[^]*\n[^]*LOG_LEVEL must/) }),
    );
  });

  it('finds the project root from src/ and from a dist/ path', () => {
    const root = projectRoot();
    expect(projectRoot(join(root, 'dist', 'src', 'config', 'load.js'))).toBe(root);
  });
});
