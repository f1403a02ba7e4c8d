import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { WorkerPool, defaultRunnerModule, defaultWorkerFile } from '../../src/jobs/index.js';
import type { JobProgress, JobSpec } from '../../src/shared/index.js';
import { FAKE_RUNNER } from '../support/server-harness.js';

const spec = (prompt: string, numSteps = 3): JobSpec => ({
  mode: 'text2video', prompt, negativePrompt: '', resolution: '256', aspectRatio: '16,9', width: 320, height: 192,
  numFrames: 5, fps: 24, seed: 1, numSteps, guidance: 6, shift: 10,
});

const pool = (extra: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}) =>
  new WorkerPool({ devices: ['cpu'], modelDir: '/none', runnerModule: FAKE_RUNNER, restartDelayMs: 10, ...extra });

/** A started pool and the worker events it emits, closed after `use`. */
async function withPool(extra: Partial<ConstructorParameters<typeof WorkerPool>[0]>, use: (p: WorkerPool, events: string[]) => Promise<void>): Promise<void> {
  const p = pool(extra);
  const events: string[] = [];
  p.onWorkerEvent((e) => events.push(e.type));
  await p.start();
  try {
    await use(p, events);
  } finally {
    await p.close();
  }
}

describe('WorkerPool', () => {
  it('finds the compiled worker and the ONNX Runtime runner under dist/ when run from sources', () => {
    expect(defaultWorkerFile().pathname).toMatch(/\/dist\/src\/engine\/worker\.js$/);
    expect(defaultRunnerModule()).toMatch(/\/dist\/src\/engine\/ort-runner\.js$/);
  });

  it('runs jobs with progress after every step, frames transferred back', async () => {
    const p = pool({ devices: ['cpu', 'cuda:0'] });
    await p.start();
    try {
      expect(p.readyCount).toBe(2);
      const progress: JobProgress[] = [];
      const result = await p.run('j1', spec('x', 4), {}, { signal: new AbortController().signal, onProgress: (pr) => progress.push(pr) });
      expect(progress.map((pr) => pr.step)).toEqual([0, 1, 2, 3, 4]);
      expect(result.frames.data).toBeInstanceOf(Uint8Array);
      expect(result.frames.data.length).toBe(5 * 16 * 16 * 3);
      const both = await Promise.all([1, 2].map((i) => p.run(`c${i}`, spec('y [ms=30]', 3), {}, { signal: new AbortController().signal, onProgress() {} })));
      expect(both).toHaveLength(2);
    } finally {
      await p.close();
    }
  });

  it('cancels through the shared flag while the worker thread is blocked (no event loop needed)', async () => {
    const p = pool();
    await p.start();
    try {
      const controller = new AbortController();
      let last = 0;
      const run = p.run('long', spec('x [steps=1000] [ms=10]'), {}, { signal: controller.signal, onProgress: (pr) => (last = pr.step) });
      while (last < 3) await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      controller.abort(new Error('stop'));
      await expect(run).rejects.toThrow('stop');
      expect(performance.now() - t0).toBeLessThan(200);
      expect(last).toBeLessThan(100);
      // the same worker takes the next job (it was not restarted)
      await expect(p.run('next', spec('x'), {}, { signal: new AbortController().signal, onProgress() {} })).resolves.toBeDefined();
    } finally {
      await p.close();
    }
  });

  it('a run that ignores a cancel is terminated after cancelGraceMs and its worker replaced', async () => {
    await withPool({ cancelGraceMs: 100 }, async (p, events) => {
      const controller = new AbortController();
      const run = p.run('deaf', spec('x [deaf] [steps=100] [ms=50]'), {}, { signal: controller.signal, onProgress() {} });
      await new Promise((r) => setTimeout(r, 50));
      controller.abort(new Error('cancelled'));
      await expect(run).rejects.toThrow('cancelled');
      await expect(p.run('after', spec('x'), {}, { signal: new AbortController().signal, onProgress() {} })).resolves.toBeDefined();
      expect(events).toContain('restart');
      expect(events).not.toContain('crash');
    });
  });

  it('never terminates a worker inside a native call (the binding would abort the process): the run stops when the call returns', async () => {
    const warnings: string[] = [];
    const logger = { info() {}, debug() {}, error() {}, warn: (_: unknown, msg?: string) => void warnings.push(msg ?? ''), child() { return logger; } };
    await withPool({ cancelGraceMs: 50, logger }, async (p, events) => {
      const controller = new AbortController();
      let last = -1;
      const run = p.run('native', spec('x [native=1200] [at=1] [steps=50] [ms=5]'), {}, { signal: controller.signal, onProgress: (pr) => (last = pr.step) });
      while (last < 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 100)); // inside the 1.2 s call now
      const t0 = performance.now();
      controller.abort(new Error('cancelled'));
      await expect(run).rejects.toThrow('cancelled');
      const waited = performance.now() - t0;
      expect(waited).toBeGreaterThan(600); // past the 50 ms grace: it waited for the call
      expect(last).toBeLessThanOrEqual(1); // stopped at the first check after the call
      expect(warnings.some((w) => w.includes('inside an ONNX Runtime call'))).toBe(true);
      expect(warnings.some((w) => w.includes('terminating'))).toBe(false);
      // the same worker takes the next job: it was neither terminated nor restarted
      await expect(p.run('after', spec('x'), {}, { signal: new AbortController().signal, onProgress() {} })).resolves.toBeDefined();
      expect(events).not.toContain('restart');
      expect(events).not.toContain('crash');
    });
  });

  it('a worker that stops by itself right after its native call is not terminated, and the job queued behind runs on it', async () => {
    await withPool({ cancelGraceMs: 1 }, async (p, events) => {
      const controller = new AbortController();
      const a = p.run('a', spec('x [native=600] [at=1] [steps=2] [ms=1]'), {}, { signal: controller.signal, onProgress() {} });
      const b = p.run('b', spec('y [steps=1]'), {}, { signal: new AbortController().signal, onProgress() {} });
      setTimeout(() => controller.abort(new Error('cancelled')), 100);
      // main busy (say, encoding another job's video) while the call returns and the worker reports its stop
      setTimeout(() => setImmediate(() => {
        const end = Date.now() + 400;
        while (Date.now() < end);
      }), 450);
      await expect(a).rejects.toThrow('cancelled');
      await expect(b).resolves.toBeDefined();
      expect(events).not.toContain('restart');
    });
  });

  it('start() rejects with C3S_ERR_WORKER_START when the runner cannot warm up, or does not exist', async () => {
    const bad = pool({ runnerOptions: { failWarmup: true } });
    await expect(bad.start()).rejects.toMatchObject({ code: 'C3S_ERR_WORKER_START', message: expect.stringContaining('fake warmup failure') });
    await bad.close();
    const missing = pool({ runnerModule: new URL('file:///nonexistent/runner.js').href });
    await expect(missing.start()).rejects.toMatchObject({ code: 'C3S_ERR_WORKER_START' });
    await missing.close();
  });

  it('close() with a job running cancels it and stops the workers', async () => {
    const p = pool();
    await p.start();
    const run = p.run('j', spec('x [steps=1000] [ms=10]'), {}, { signal: new AbortController().signal, onProgress() {} }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    await p.close(2_000);
    expect(await run).toMatchObject({ code: 'C3S_ERR_JOB_CANCELLED' });
    expect(p.readyCount).toBe(0);
    await expect(p.run('late', spec('x'), {}, { signal: new AbortController().signal, onProgress() {} })).rejects.toMatchObject({ code: 'C3S_ERR_SHUTTING_DOWN' });
  });
});
