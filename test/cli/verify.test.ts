import { describe, expect, it } from 'vitest';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatLine, runVerify, verifyFixture } from '../../src/cli/verify.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

function sink(): NodeJS.WritableStream & { text: string } {
  const s = { text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

describe('cosmos3-serve verify', () => {
  it('passes every golden case of the tiny fixture (transformer, VAE, scheduler, pipeline) within 1e-4', async () => {
    const lines = await verifyFixture(FIXTURE, { tolerance: 1e-4 });
    const text = lines.map(formatLine).join('\n');
    expect(lines.length, text).toBeGreaterThanOrEqual(15);
    for (const l of lines) expect(l.ok, formatLine(l)).toBe(true);
    const kinds = new Set(lines.map((l) => l.kind));
    for (const k of ['transformer', 'vae', 'scheduler', 'pipeline']) expect(kinds, text).toContain(k);
  });

  it('passes a fixture of other sizes (cosmos3-variant: widths, layers, heads, rotary sections, timestep features, VAE levels; the loops too)', async () => {
    const lines = await verifyFixture(path.resolve('test/fixtures/cosmos3-variant'), { tolerance: 1e-4 });
    const text = lines.map(formatLine).join('\n');
    expect(lines.map((l) => l.caseName).sort(), text).toEqual([
      'e2e_action_policy', 'e2e_i2v', 'e2e_t2v',
      'tf_action_fd', 'tf_action_id', 'tf_action_policy', 'tf_i2v', 'tf_t2i', 'tf_t2v', 'tf_t2v_odd', 'tf_t2v_sound', 'tf_v2v', 'vae_image', 'vae_video',
    ]);
    for (const l of lines) expect(l.ok, formatLine(l)).toBe(true);
  });

  it('fails (exit 1) on a case whose golden output was tampered with, and names it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-verify-bad-'));
    try {
      await cp(FIXTURE, dir, { recursive: true });
      // a fixture with one case whose stored transformer output is perturbed
      const { SafetensorsReader, writeSafetensors } = await import('../../src/convert/index.js');
      const src = path.join(FIXTURE, 'tf_t2i.safetensors');
      const r = await SafetensorsReader.open(src);
      const names = r.names();
      await rm(path.join(dir, 'tf_t2i.safetensors'));
      await writeSafetensors(path.join(dir, 'tf_t2i.safetensors'), names.map((n) => ({ name: n, dtype: r.get(n)!.dtype, shape: r.get(n)!.shape })), async (n) => {
        const b = await r.readBytes(n);
        const copy = new Uint8Array(b);
        if (n === 'out_vision_0') new Float32Array(copy.buffer)[3] += 1;
        return copy;
      });
      await r.close();
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ cases: ['tf_t2i', 'tf_t2v'] }));
      const out = sink();
      const err = sink();
      const code = await runVerify(['--fixture', dir], { stdout: out, stderr: err });
      expect(code).toBe(1);
      expect(out.text).toMatch(/FAIL tf_t2i/);
      expect(out.text).toMatch(/ok {3}tf_t2v/);
      expect(out.text).toMatch(/1 passed, 1 failed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a VAE case whose decoded pixels are off by more than a byte fails on the RGB-byte check of the served graph', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-verify-bytes-'));
    try {
      await cp(FIXTURE, dir, { recursive: true });
      const { SafetensorsReader, writeSafetensors } = await import('../../src/convert/index.js');
      const r = await SafetensorsReader.open(path.join(FIXTURE, 'vae_image.safetensors'));
      await rm(path.join(dir, 'vae_image.safetensors'));
      await writeSafetensors(path.join(dir, 'vae_image.safetensors'), r.names().map((n) => ({ name: n, dtype: r.get(n)!.dtype, shape: r.get(n)!.shape })), async (n) => {
        const copy = new Uint8Array(await r.readBytes(n));
        if (n === 'decode_out') {
          const px = new Float32Array(copy.buffer);
          for (let i = 0; i < 20; i++) px[i * 7] = px[i * 7] > 0 ? -0.5 : 0.5; // 20 values far off, a rel L2 under 1e-4 would not see
        }
        return copy;
      });
      await r.close();
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ cases: ['vae_image'] }));
      const lines = await verifyFixture(dir, { tolerance: 1 }); // only the exact byte check can fail at this tolerance
      expect(lines[0].ok).toBe(false);
      expect(lines[0].worst).toMatch(/RGB bytes .*more than 1 off/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a damaged case is its own FAIL line and the others still run; a fixture without cases fails', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-verify-damaged-'));
    try {
      await cp(FIXTURE, dir, { recursive: true });
      await rm(path.join(dir, 'tf_t2i.safetensors'));
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ cases: ['tf_t2i', 'tf_t2v'] }));
      const out = sink();
      expect(await runVerify(['--fixture', dir], { stdout: out, stderr: sink() })).toBe(1);
      expect(out.text).toMatch(/FAIL tf_t2i\s+error\s+.*tf_t2i\.safetensors/);
      expect(out.text).toMatch(/ok {3}tf_t2v/);
      expect(out.text).toMatch(/1 passed, 1 failed/);
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ cases: [] }));
      const err = sink();
      expect(await runVerify(['--fixture', dir], { stdout: sink(), stderr: err })).toBe(1);
      expect(err.text).toMatch(/holds no golden cases/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers a usage error with exit 2', async () => {
    const err = sink();
    expect(await runVerify([], { stdout: sink(), stderr: err })).toBe(2);
    expect(err.text).toMatch(/--fixture <dir> is required/);
  });
});
