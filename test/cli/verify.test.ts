import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatLine, runVerify, verifyFixture } from '../../src/cli/verify.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');
const MAIN = path.resolve(import.meta.dirname, '../../dist/src/main.js');

function sink(): NodeJS.WritableStream & { text: string } {
  const s = { text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

/**
 * A copy of the tiny fixture in a fresh folder listing only `cases`, with `tensor` of `caseName` changed in place
 * by `mutate` (float32 values).
 */
async function tamperedFixture(caseName: string, tensor: string, mutate: (values: Float32Array) => void, cases: readonly string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-verify-tampered-'));
  await cp(FIXTURE, dir, { recursive: true });
  const { SafetensorsReader, writeSafetensors } = await import('../../src/convert/index.js');
  const r = await SafetensorsReader.open(path.join(FIXTURE, `${caseName}.safetensors`));
  await rm(path.join(dir, `${caseName}.safetensors`));
  await writeSafetensors(path.join(dir, `${caseName}.safetensors`), r.names().map((n) => ({ name: n, dtype: r.get(n)!.dtype, shape: r.get(n)!.shape })), async (n) => {
    const copy = new Uint8Array(await r.readBytes(n));
    if (n === tensor) mutate(new Float32Array(copy.buffer));
    return copy;
  });
  await r.close();
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ cases }));
  return dir;
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

  it('passes a transformer fixture made by the reference code with the real attention layout on another hidden size (cosmos3-heads128)', async () => {
    // heads of 128, mRoPE [24, 20, 20], 4 query heads per K/V head, hidden 64 ≠ 4 × 128: until the attention output
    // was reshaped to heads × head_dim instead of the hidden size, every case failed to load
    const lines = await verifyFixture(path.resolve('test/fixtures/cosmos3-heads128'), { tolerance: 1e-4 });
    const text = lines.map(formatLine).join('\n');
    expect(lines.map((l) => l.caseName).sort(), text).toEqual([
      'tf_action_fd', 'tf_action_id', 'tf_action_policy', 'tf_i2v', 'tf_t2i', 'tf_t2v', 'tf_t2v_odd', 'tf_t2v_sound', 'tf_v2v',
    ]);
    for (const l of lines) expect(l.ok, formatLine(l)).toBe(true);
  });

  it('fails (exit 1) on a case whose golden output was tampered with, and names it', async () => {
    // a fixture with one case whose stored transformer output is perturbed
    const dir = await tamperedFixture('tf_t2i', 'out_vision_0', (v) => void (v[3] += 1), ['tf_t2i', 'tf_t2v']);
    try {
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
    // 20 values far off, which a rel L2 under 1e-4 would not see
    const dir = await tamperedFixture('vae_image', 'decode_out', (px) => {
      for (let i = 0; i < 20; i++) px[i * 7] = px[i * 7] > 0 ? -0.5 : 0.5;
    }, ['vae_image']);
    try {
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

  it('interrupted (SIGINT, SIGTERM), removes its temporary model and exits 128 + the signal', async () => {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const tmp = await mkdtemp(path.join(os.tmpdir(), 'c3s-verify-signal-'));
      try {
        const child = spawn(process.execPath, [MAIN, 'verify', '--fixture', FIXTURE], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
        const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
        // the first case's line: the conversion is done and the temporary model is in use
        await new Promise<void>((res, rej) => {
          child.stdout.on('data', (d: Buffer) => { if (/^(ok|FAIL) /m.test(d.toString())) res(); });
          child.once('exit', (c) => rej(new Error(`verify exited (${c}) before its first case`)));
        });
        expect((await readdir(tmp)).filter((n) => n.startsWith('c3s-verify-'))).toHaveLength(1);
        child.kill(signal);
        expect(await exited).toBe(code);
        expect(await readdir(tmp)).toEqual([]);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }, 120_000);

  it('answers a usage error with exit 2', async () => {
    const err = sink();
    expect(await runVerify([], { stdout: sink(), stderr: err })).toBe(2);
    expect(err.text).toMatch(/--fixture <dir> is required/);
  });
});
