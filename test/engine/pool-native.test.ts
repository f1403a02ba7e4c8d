import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyModel } from '../../src/convert/tiny/index.js';
import { WorkerPool, defaultRunnerModule } from '../../src/jobs/index.js';
import type { JobSpec } from '../../src/shared/index.js';

const MODEL_DIR = path.resolve('models/tiny');

/**
 * Against the real runner: a cancel whose grace runs out while ONNX Runtime decodes. Terminating the worker then
 * aborted the whole process ("terminate called after throwing an instance of 'Napi::Error'"); the pool now waits
 * for the run to return.
 */
describe('WorkerPool with ONNX Runtime: cancel grace over during a run', () => {
  beforeAll(async () => {
    await ensureTinyModel(MODEL_DIR);
  }, 600_000);

  it('waits for the run instead of terminating the worker; the job stops when the run returns; process and worker live on', async () => {
    const warnings: string[] = [];
    const logger = { info() {}, debug() {}, error() {}, warn: (_: unknown, msg?: string) => void warnings.push(msg ?? ''), child() { return logger; } };
    const p = new WorkerPool({ devices: ['cpu'], modelDir: MODEL_DIR, runnerModule: defaultRunnerModule(), cancelGraceMs: 1, restartDelayMs: 10, logger });
    const events: string[] = [];
    p.onWorkerEvent((e) => events.push(e.type));
    await p.start();
    try {
      // 720p, 33 frames: 8,100 vision tokens, each forward of the tiny model a run of several hundred ms on the CPU
      const spec: JobSpec = {
        mode: 'text2video', prompt: 'a red kite', negativePrompt: '', resolution: '720', aspectRatio: '16,9', width: 1280, height: 720,
        numFrames: 33, fps: 24, seed: 3, numSteps: 4, guidance: 6, shift: 3,
      };
      const controller = new AbortController();
      let steps = 0;
      const run = p.run('long-runs', spec, {}, {
        signal: controller.signal,
        onProgress: (pr) => {
          if (pr.stage !== 'sampling' || pr.step !== 1) return;
          steps = pr.step;
          // the worker starts step 2's first forward right after posting this: 50 ms later it is inside that run
          setTimeout(() => controller.abort(new Error('cancelled mid-run')), 50);
        },
      });
      await expect(run).rejects.toThrow('cancelled mid-run');
      expect(steps).toBe(1);
      expect(warnings.some((w) => w.includes('inside an ONNX Runtime call'))).toBe(true);
      expect(warnings.some((w) => w.includes('terminating'))).toBe(false);
      expect(events).not.toContain('restart');
      const next = await p.run('next', { ...spec, width: 256, height: 256, numFrames: 5, numSteps: 2, resolution: '256', aspectRatio: '1,1' }, {}, { signal: new AbortController().signal, onProgress() {} });
      expect(next.frames.width).toBe(256);
    } finally {
      await p.close();
    }
  }, 120_000);
});
