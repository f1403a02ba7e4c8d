import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/api/metrics.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sources = () => ({ queueDepth: () => 0, inFlight: () => 0, workersReady: () => 1, storedResultBytes: () => 0 });

describe('Metrics', () => {
  it("serves the app's metrics and the process's, each name once", async () => {
    const a = await new Metrics(sources()).text();
    const b = await new Metrics(sources()).text();
    for (const { body } of [a, b]) {
      expect(body.match(/^process_resident_memory_bytes /gm)).toHaveLength(1);
      expect(body.match(/^# TYPE c3s_queue_depth gauge$/gm)).toHaveLength(1);
      expect(body).toMatch(/^c3s_workers_ready 1$/m);
    }
    expect(a.contentType).toMatch(/^text\/plain/);
  });

  it('an app that is dropped is garbage (the process metrics hold no reference to it)', async () => {
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 10; i++) {
      const big = new Float64Array(1 << 20);
      const m = new Metrics({ ...sources(), storedResultBytes: () => big.length });
      await m.text();
      refs.push(new WeakRef(big));
    }
    await new Promise((r) => setTimeout(r, 10));
    gc();
    await new Promise((r) => setTimeout(r, 10));
    gc();
    // (the last one may still be held by this frame; with per-app default metrics all ten stayed alive)
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(1);
  });
});
