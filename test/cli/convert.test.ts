import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConvertArgs, runConvert } from '../../src/cli/convert.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b: Buffer) => (text += b.toString()));
  return { stream, text: () => text };
}

describe('cosmos3-serve convert', () => {
  it('parses flags: bf16 and fused kernels by default, --unfused and --dtype fp32 when asked', () => {
    expect(parseConvertArgs(['--checkpoint', 'a', '--out', 'b'])).toEqual({
      checkpoint: 'a', out: 'b', dtype: 'bfloat16', link: true, hash: true, transformerGraphs: { fused: true },
    });
    const o = parseConvertArgs(['--checkpoint', 'a', '--out', 'b', '--dtype', 'fp32', '--unfused', '--copy-weights', '--no-hash']);
    expect(o).toMatchObject({ dtype: 'float32', link: false, hash: false, transformerGraphs: { fused: false } });
    expect(() => parseConvertArgs(['--checkpoint', 'a', '--out', 'b', '--dtype', 'int8'])).toThrow(/--dtype must be one of fp32, bf16, fp16 \(got int8\)/);
    expect(() => parseConvertArgs(['--out', 'b'])).toThrow(/--checkpoint <dir> is required/);
  });

  it('exits 2 with the usage on a bad flag, and converts the tiny fixture with --unfused', async () => {
    const err = capture();
    const out = capture();
    expect(await runConvert(['--checkpoint', FIXTURE, '--bogus'], { stderr: err.stream, stdout: out.stream })).toBe(2);
    expect(err.text()).toMatch(/Usage: cosmos3-serve convert/);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-cli-convert-'));
    try {
      const code = await runConvert(['--checkpoint', FIXTURE, '--out', dir, '--dtype', 'fp32', '--unfused', '--no-hash'], { stderr: err.stream, stdout: out.stream });
      expect(code).toBe(0);
      expect(out.text()).toMatch(/converted .* \(float32\): transformer, /);
      const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { transformerGraphs: unknown };
      expect(manifest.transformerGraphs).toEqual({ fused: false });
      // stderr is not a terminal here: plain progress lines (a few per stage, the last one complete), no bar
      const lines = err.text().split('\n').filter((l) => l.startsWith('convert: '));
      expect(lines.some((l) => /^convert: weights \d+\/\d+/.test(l))).toBe(true);
      expect(lines.some((l) => /^convert: graphs \d+\/\d+/.test(l))).toBe(true);
      expect(lines.length).toBeLessThan(60);
      expect(err.text()).not.toMatch(/\[[█░]+\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
