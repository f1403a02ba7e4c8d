/**
 * HTTP + queue + worker round trip with the fake runner on a real socket: p50/p99 latency and throughput of
 * POST /predict at concurrency 1 and 8, and the main thread's event-loop delay while a worker is busy (the worker
 * blocks its own thread like ONNX Runtime's run(); the event loop must stay responsive: target ≤ 20 ms).
 * Run: npm run build && node dist/bench/http-roundtrip.js  (env: REQUESTS=300, DEVICES=cpu)
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { buildApp } from '../src/api/index.js';
import { loadConfig, projectRoot } from '../src/config/index.js';
import { DEFAULT_MEDIA, WorkerPool, type MediaDeps } from '../src/jobs/index.js';

const REQUESTS = Number(process.env.REQUESTS ?? 300);
const devices = (process.env.DEVICES ?? 'cpu').split(',');
const root = projectRoot(import.meta.url);
const runnerModule = pathToFileURL(join(root, 'test', 'support', 'fake-runner.mjs')).href;

/** Media that costs nothing, so the numbers are HTTP + queue + worker only. */
const media: MediaDeps = {
  ...DEFAULT_MEDIA,
  encodeJpeg: async () => Buffer.from('jpeg'),
  encodeMp4: async () => Buffer.from('mp4'),
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function post(base: string, path: string, body: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(`${base}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 || res.statusCode === 202 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function roundTrips(base: string, concurrency: number, total: number) {
  const latencies: number[] = [];
  const body = { model_mode: 'text2image', prompt: 'bench [ms=0]', num_steps: 1, seed: 0 };
  for (let i = 0; i < 20; i++) await post(base, '/predict', body); // warm
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        latencies.push(await post(base, '/predict', body));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { concurrency, requests: latencies.length, p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)), throughput_rps: round(latencies.length / seconds) };
}

async function eventLoopWhileBusy(base: string) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const busy = post(base, '/predict', { model_mode: 'text2image', prompt: 'busy [steps=100] [ms=20]', num_steps: 1 });
  await new Promise((r) => setTimeout(r, 50));
  histogram.enable();
  // keep the main thread serving while the worker blocks its own thread
  const polls: Promise<unknown>[] = [];
  const until = performance.now() + 1500;
  while (performance.now() < until) {
    polls.push(fetch(`${base}/health/ready`).then((r) => r.arrayBuffer()));
    await new Promise((r) => setTimeout(r, 10));
  }
  await busy;
  histogram.disable();
  await Promise.all(polls);
  const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
  return { max_ms: ms(histogram.max), p99_ms: ms(histogram.percentile(99)), mean_ms: ms(histogram.mean), samples: histogram.count };
}

const config = Object.freeze({ ...loadConfig({ MODEL_DIR: '/nonexistent', LOG_LEVEL: 'silent', QUEUE_DEPTH: '256' }), devices });
const pool = new WorkerPool({ devices, modelDir: config.modelDir, runnerModule, runnerOptions: { width: 16, height: 16 } });
const app = buildApp(config, { pool, logger: false, media });
await pool.start();
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
try {
  const results = [await roundTrips(base, 1, REQUESTS), await roundTrips(base, 8, REQUESTS)];
  const eventLoop = await eventLoopWhileBusy(base);
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'http-roundtrip',
        node: process.version,
        cpu: cpus()[0]?.model ?? 'unknown',
        cpus: cpus().length,
        runner: 'test/support/fake-runner.mjs (1 step, 0 ms, 16×16 frame, no media encoding)',
        workers: devices.length,
        request: 'POST /predict text2image',
        results,
        event_loop_delay_while_worker_busy: { ...eventLoop, target_max_ms: 20, ok: eventLoop.max_ms <= 20 },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  agent.destroy();
  await app.close();
}
