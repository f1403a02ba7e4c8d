import { describe, expect, it } from 'vitest';
import { Job, JobStore } from '../../src/jobs/index.js';
import type { JobSpec } from '../../src/shared/index.js';

const spec = { mode: 'text2image', seed: 1 } as unknown as JobSpec;
function finished(now: number, bytes: number, retain = true): Job {
  const job = new Job(spec, { retain, now });
  job.output = { spec, format: 'jpg', data: Buffer.alloc(bytes), timings: {} };
  job.setState('running', now);
  job.setState('succeeded', now);
  return job;
}

describe('JobStore', () => {
  it('drops /predict jobs when they finish and keeps async ones until their TTL', () => {
    let now = 0;
    const store = new JobStore({ ttlMs: 100, maxBytes: 1_000, now: () => now });
    const sync = finished(0, 10, false);
    const async = finished(0, 10);
    store.add(sync);
    store.add(async);
    store.finished(sync);
    store.finished(async);
    expect(store.get(sync.id)).toBeUndefined();
    expect(store.get(async.id)).toBe(async);
    expect(store.bytes).toBe(10);
    now = 99;
    store.sweep();
    expect(store.get(async.id)).toBe(async);
    now = 100;
    store.sweep();
    expect(store.get(async.id)).toBeUndefined();
    expect(store.bytes).toBe(0);
  });

  it('an expired result is gone at its TTL even before the next sweep', () => {
    let now = 0;
    const store = new JobStore({ ttlMs: 100, maxBytes: 1_000, now: () => now });
    const job = finished(0, 10);
    store.add(job);
    store.finished(job);
    now = 99;
    expect(store.get(job.id)).toBe(job);
    now = 100; // no sweep in between
    expect(store.get(job.id)).toBeUndefined();
    expect(store.bytes).toBe(0);
    expect(store.size).toBe(0);
  });

  it('keeps the total result size within maxBytes, oldest first', () => {
    const store = new JobStore({ ttlMs: 1e9, maxBytes: 25, now: () => 0 });
    const jobs = [finished(0, 10), finished(0, 10), finished(0, 10)];
    for (const j of jobs) {
      store.add(j);
      store.finished(j);
    }
    expect(jobs.map((j) => store.get(j.id) !== undefined)).toEqual([false, true, true]);
    expect(store.bytes).toBe(20);
  });
});
