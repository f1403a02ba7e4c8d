import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConvertArgs } from '../../src/cli/convert.js';
import { describeDevices } from '../../src/engine/ort/index.js';

// Docker cannot be built where the tests run, so the Dockerfile is kept plain and these tests read it: every file
// it copies exists, every npm script it runs is defined, every command it or docker/README.md gives is one that
// the code accepts, and the HEALTHCHECK script works against a live HTTP server.

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string): string => readFileSync(resolve(ROOT, p), 'utf8');
const dockerfile = read('Dockerfile');
/** Dockerfile instructions, continuation lines joined, comments dropped. */
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const of = (keyword: string): string[] => instructions.filter((l) => l.startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());

describe('Dockerfile', () => {
  it('builds on the CUDA 13 + cuDNN 9 runtime image and Node 24', () => {
    expect(of('ARG')).toContain('CUDA_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04');
    expect(dockerfile).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:13\.\d+\.\d+-cudnn-runtime-ubuntu24\.04$/m);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const sources = of('COPY').filter((c) => !c.startsWith('--from')).flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect(existsSync(resolve(ROOT, src)), src).toBe(true);
      expect(ignored.some((pattern) => src === pattern || src.startsWith(`${pattern}/`)), `${src} is excluded by .dockerignore`).toBe(false);
    }
    for (const mustStayOut of ['node_modules', 'dist', 'models', 'native/cuda-ep.json', '.git']) expect(ignored).toContain(mustStayOut);
  });

  it('runs npm scripts that package.json defines (provision:cuda included)', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const runs = of('RUN').flatMap((r) => [...r.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]));
    expect(runs).toEqual(['build', 'provision:cuda']);
    for (const s of runs) expect(scripts[s], `package.json script ${s}`).toBeDefined();
    expect(scripts['provision:cuda']).toBe('node native/provision-cuda.mjs');
  });

  it('`npm prune --omit=dev` removes no package the image runs (dist/, native/, docker/healthcheck.mjs)', () => {
    expect(of('RUN')).toContain('npm prune --omit=dev');
    // the same command, as a dry run: what it would remove from this checkout's node_modules
    const npm = process.env.npm_execpath;
    const out = npm && npm.endsWith('.js')
      ? execFileSync(process.execPath, [npm, 'prune', '--omit=dev', '--dry-run'], { cwd: ROOT, encoding: 'utf8' })
      : execFileSync('npm', ['prune', '--omit=dev', '--dry-run'], { cwd: ROOT, encoding: 'utf8' });
    const removed = new Set([...out.matchAll(/^remove (\S+) \S+$/gm)].map((m) => m[1]));
    expect(removed).toContain('vitest');
    expect(removed).toContain('typescript');
    const files = (dir: string): string[] => readdirSync(resolve(ROOT, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && /\.(m?js)$/.test(e.name))
      .map((e) => join(e.parentPath, e.name));
    const runtime = [...files('dist/src'), ...files('native'), resolve(ROOT, 'docker/healthcheck.mjs')];
    expect(runtime.length).toBeGreaterThan(50);
    const packages = new Set<string>();
    for (const file of runtime) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\.resolve\(\s*)['"]([^'"\s]+)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
    expect(packages).toContain('onnxruntime-node');
    for (const p of ['fastify', 'sharp', 'undici', 'pino', 'prom-client', 'protobufjs', 'zod']) expect(packages).toContain(p);
    const dependencies = Object.keys((JSON.parse(read('package.json')) as { dependencies: Record<string, string> }).dependencies);
    for (const p of packages) {
      expect(removed.has(p), `${p} is imported at run time but npm prune --omit=dev removes it`).toBe(false);
      expect(dependencies, `${p} is imported at run time`).toContain(p);
    }
  });

  it('serves as a non-root user with the model volume, GPU 0, the port and a health check', () => {
    expect(of('USER')).toEqual(['cosmos']);
    expect(of('VOLUME')).toEqual(['/models']);
    expect(of('EXPOSE')).toEqual(['8080']);
    const env = Object.fromEntries(of('ENV').join(' ').split(/\s+/).map((kv) => kv.split('=') as [string, string]));
    expect(env).toMatchObject({ MODEL_DIR: '/models/cosmos3-nano', DEVICES: 'cuda:0', PORT: '8080' });
    expect(describeDevices(env.DEVICES.split(','))).toMatchObject({ needsCudaCheck: true, cudaDeviceIds: [0] });
    expect(of('CMD')).toEqual(['["node", "dist/src/main.js", "serve"]']);
    expect(existsSync(resolve(ROOT, 'src/main.ts'))).toBe(true);
    expect(of('HEALTHCHECK')[0]).toMatch(/CMD \["node", "docker\/healthcheck\.mjs"\]$/);
    expect(of('RUN').some((r) => r.includes('apt-get install -y --no-install-recommends ffmpeg'))).toBe(true);
  });
});

describe('docker/compose.yaml and docker/README.md', () => {
  it('compose reserves an NVIDIA GPU, mounts the models and builds this Dockerfile', () => {
    const compose = read('docker/compose.yaml');
    expect(compose).toMatch(/deploy:\s+resources:\s+reservations:\s+devices:\s+- driver: nvidia/);
    expect(compose).toContain('capabilities: [gpu]');
    expect(compose).toMatch(/target: \/models\n/);
    expect(compose).toMatch(/context: \.\.\n\s+dockerfile: Dockerfile/);
    expect(compose).toContain('DEVICES: cuda:0');
  });

  it('the README convert command is one the CLI accepts', () => {
    const readme = read('docker/README.md');
    const m = /node dist\/src\/main\.js convert ([^\n`]+)/.exec(readme);
    expect(m).not.toBeNull();
    expect(parseConvertArgs(m![1].trim().split(/\s+/))).toMatchObject({
      checkpoint: '/models/hf', out: '/models/cosmos3-nano', dtype: 'bfloat16', link: true,
    });
    expect(readme).toContain('-v /srv/cosmos3/models:/models \\');
  });
});

describe('docker/healthcheck.mjs', () => {
  let server: Server;
  let port: number;
  let status = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/health/ready' ? status : 404;
      res.setHeader('content-type', 'application/json');
      res.end(status === 200 ? '{"status":"ready","workers":{"ready":1,"total":1}}' : '{"error":{"code":"C3S_ERR_NOT_READY"}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const check = (env: Record<string, string>): Promise<{ code: number; out: string }> => new Promise((r) => {
    execFile(process.execPath, [resolve(ROOT, 'docker/healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      r({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr });
    });
  });

  it('exits 0 when /health/ready answers 200, 1 on 503 or when nothing listens', async () => {
    status = 200;
    expect(await check({ PORT: String(port) })).toMatchObject({ code: 0, out: expect.stringContaining('ready: {"status":"ready"') });
    status = 503;
    expect(await check({ PORT: String(port) })).toMatchObject({ code: 1, out: expect.stringContaining('not ready: HTTP 503') });
    const closed = await check({ PORT: '1', HEALTHCHECK_TIMEOUT_MS: '2000' });
    expect(closed.code).toBe(1);
    expect(closed.out).toContain('unreachable');
  });
});
