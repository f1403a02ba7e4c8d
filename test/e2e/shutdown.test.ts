import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAKE_RUNNER, scratch, waitFor } from '../support/server-harness.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');

interface Served {
  child: ChildProcess;
  base: string;
  logs: Record<string, unknown>[];
  exit: Promise<number | null>;
}

async function serve(env: Record<string, string>): Promise<Served> {
  const dir = await scratch('serve');
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', MODEL_DIR: join(dir.path, 'model'), RUNNER_MODULE: FAKE_RUNNER, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line));
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = once(child, 'exit').then(async ([code]) => {
    await dir.cleanup();
    return code as number | null;
  });
  const listening = await waitFor(() => logs.find((l) => String(l.msg).startsWith('Server listening at')), 20_000, `listening (${stderr})`);
  const base = String(listening.msg).replace('Server listening at ', '');
  await waitFor(() => logs.find((l) => String(l.msg).includes('ready')), 20_000, 'workers ready');
  return { child, base, logs, exit };
}

const post = (base: string, body: object) =>
  fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('cosmos3-serve serve: graceful shutdown', () => {
  // the drain lasts ~11 s: past Fastify's 10 s default hook timeout, which used to cut the grace short and crash
  it('SIGTERM: stops accepting, finishes the running job within the grace period (a drain of over 10 s), exits 0', async () => {
    const s = await serve({ SHUTDOWN_GRACE_S: '30' });
    expect((await fetch(`${s.base}/health/ready`)).status).toBe(200);
    const running = post(s.base, { prompt: 'finish me [steps=440] [ms=25]', resolution: '256', num_frames: 5 });
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    await waitFor(() => s.logs.find((l) => l.msg === 'shutting down: draining jobs'), 5_000, 'draining');
    // while draining, routes keep answering in the server's own shapes
    expect((await fetch(`${s.base}/health/live`)).status).toBe(200);
    const ready = await fetch(`${s.base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('C3S_ERR_SHUTTING_DOWN');
    const refused = await post(s.base, { prompt: 'too late', resolution: '256', num_frames: 5 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('x-request-id')).toBeTruthy();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('C3S_ERR_SHUTTING_DOWN');
    const res = await running;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { format: string }).format).toBe('mp4');
    expect(Date.now() - t0).toBeGreaterThan(10_000);
    await expect(fetch(`${s.base}/health/live`)).rejects.toThrow();
    expect(await s.exit).toBe(0);
    expect(s.logs.some((l) => l.msg === 'shutting down')).toBe(true);
    expect(s.logs.some((l) => l.msg === 'stopped')).toBe(true);
    // every log line of a request carries its request id
    expect(s.logs.filter((l) => l.req !== undefined).every((l) => typeof l.reqId === 'string')).toBe(true);
  }, 60_000);

  it('SIGINT past the grace period: the running job is cancelled (503) and the process still exits 0', async () => {
    const s = await serve({ SHUTDOWN_GRACE_S: '0.2' });
    const running = post(s.base, { prompt: 'too long [steps=1000] [ms=10]', resolution: '256', num_frames: 5 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    s.child.kill('SIGINT');
    const res = await running;
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('C3S_ERR_SHUTTING_DOWN');
    expect(await s.exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('a bad environment value is reported by name and exits 2', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve'], { env: { ...process.env, PORT: 'eighty', DEVICES: 'tpu:0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toContain("PORT must be an integer in 0..65535, got 'eighty'");
    expect(stderr).toContain('DEVICES must be');
  });

  it('the CLI lists its commands and rejects unknown ones', async () => {
    const run = async (args: string[]) => {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      const [code] = await once(child, 'exit');
      return { code, out };
    };
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('serve');
    const bad = await run(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('unknown command "frobnicate"');
  });
});
