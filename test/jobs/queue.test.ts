import { describe, expect, it } from 'vitest';
import { JobQueue, JobStore, type ExecuteJob, type Job } from '../../src/jobs/index.js';
import type { JobSpec } from '../../src/shared/index.js';

const spec = { mode: 'text2video', prompt: 'p', numSteps: 3, seed: 1 } as unknown as JobSpec;

/** An executor whose jobs finish when the test says so, or stop when aborted. */
function controllable() {
  const pending = new Map<string, () => void>();
  const started: string[] = [];
  const execute: ExecuteJob = (job, { signal, onProgress }) =>
    new Promise((resolve, reject) => {
      started.push(job.spec.prompt);
      onProgress({ stage: 'sampling', step: 1, totalSteps: 3 });
      signal.addEventListener('abort', () => reject(signal.reason));
      pending.set(job.spec.prompt, () => resolve({ spec: job.spec, format: 'mp4', data: Buffer.from('x'), timings: {} }));
    });
  return { execute, started, finish: (p: string) => pending.get(p)!() };
}

const make = (execute: ExecuteJob, opts: { maxQueued?: number; concurrency?: number; timeoutMs?: number } = {}) =>
  new JobQueue({ maxQueued: opts.maxQueued ?? 2, concurrency: opts.concurrency ?? 1, timeoutMs: opts.timeoutMs ?? 10_000, execute, store: new JobStore({ ttlMs: 60_000, maxBytes: 1e9 }) });
const tick = () => new Promise((r) => setTimeout(r, 0));
const submit = (q: JobQueue, prompt: string): Job => q.submit({ ...spec, prompt }, { retain: true });

describe('JobQueue', () => {
  it('runs jobs in arrival order, `concurrency` at a time, with 1-based positions', async () => {
    const c = controllable();
    const q = make(c.execute, { maxQueued: 3 });
    const [a, b, d] = [submit(q, 'a'), submit(q, 'b'), submit(q, 'd')];
    expect([a.state, q.position(a), q.position(b), q.position(d)]).toEqual(['running', null, 1, 2]);
    c.finish('a');
    await a.done;
    await tick();
    expect(a.state).toBe('succeeded');
    expect(b.state).toBe('running');
    expect(q.position(d)).toBe(1);
    c.finish('b');
    await b.done;
    await tick();
    c.finish('d');
    await d.done;
    expect(c.started).toEqual(['a', 'b', 'd']);
  });

  it('tells a queued job when it moves up: a job ahead of it started, or left the queue', async () => {
    const c = controllable();
    const q = make(c.execute, { maxQueued: 3 });
    const [a, b, d, e] = [submit(q, 'a'), submit(q, 'b'), submit(q, 'd'), submit(q, 'e')];
    const seen: Record<string, string[]> = { b: [], d: [], e: [] };
    for (const [name, job] of [['b', b], ['d', d], ['e', e]] as const) {
      job.subscribe((ev) => seen[name].push(ev.type === 'queue' ? `moved up to ${q.position(job)}` : ev.type === 'state' ? ev.state : 'progress'));
    }
    q.cancel(d, 'cancelled'); // e moves up; b, ahead of d, does not
    expect(seen).toEqual({ b: [], d: ['cancelled'], e: ['moved up to 2'] });
    c.finish('a');
    await a.done;
    await tick();
    expect(seen).toEqual({ b: ['running', 'progress'], d: ['cancelled'], e: ['moved up to 2', 'moved up to 1'] });
    c.finish('b');
    await b.done;
    await tick();
    expect(seen.e).toEqual(['moved up to 2', 'moved up to 1', 'running', 'progress']);
    c.finish('e');
    await e.done;
  });

  it('refuses with QueueFullError beyond maxQueued waiting jobs', () => {
    const q = make(controllable().execute, { maxQueued: 1 });
    submit(q, 'a');
    submit(q, 'b');
    expect(() => submit(q, 'c')).toThrow(expect.objectContaining({ code: 'C3S_ERR_QUEUE_FULL', statusCode: 429 }));
    expect(q.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
  });

  it('cancels a waiting job at once and a running one through its signal', async () => {
    const c = controllable();
    const q = make(c.execute);
    const a = submit(q, 'a');
    const b = submit(q, 'b');
    expect(q.cancel(b, 'cancelled')).toBe(true);
    expect(b.state).toBe('cancelled');
    expect(q.depth).toBe(0);
    q.cancel(a, 'cancelled');
    await a.done;
    expect(a.state).toBe('cancelled');
    expect(a.error).toMatchObject({ code: 'C3S_ERR_JOB_CANCELLED' });
    expect(q.cancel(a, 'cancelled')).toBe(false);
  });

  it('fails a job past its time limit with 504', async () => {
    const q = make(controllable().execute, { timeoutMs: 20 });
    const a = submit(q, 'a');
    await a.done;
    expect(a.state).toBe('failed');
    expect(a.error).toMatchObject({ code: 'C3S_ERR_JOB_TIMEOUT', statusCode: 504 });
  });

  it('shutdown: refuses new jobs, cancels waiting ones, lets running ones finish within the grace period', async () => {
    const c = controllable();
    const q = make(c.execute);
    const a = submit(q, 'a');
    const b = submit(q, 'b');
    const drained = q.shutdown(1_000);
    expect(b.state).toBe('cancelled');
    expect(b.error).toMatchObject({ code: 'C3S_ERR_SHUTTING_DOWN' });
    expect(() => submit(q, 'c')).toThrow(expect.objectContaining({ code: 'C3S_ERR_SHUTTING_DOWN' }));
    c.finish('a');
    await drained;
    expect(a.state).toBe('succeeded');
  });

  it('shutdown cancels running jobs once the grace period is over', async () => {
    const q = make(controllable().execute);
    const a = submit(q, 'a');
    await q.shutdown(20);
    expect(a.state).toBe('cancelled');
  });

  it('progress reaches the job and its subscribers; a failure keeps its error', async () => {
    const q = make(async (_job, { onProgress }) => {
      await tick();
      onProgress({ stage: 'sampling', step: 2, totalSteps: 3 });
      throw Object.assign(new Error('bad input'), { code: 'C3S_ERR_INPUT_UNREADABLE', statusCode: 400 });
    });
    const events: string[] = [];
    const a = submit(q, 'a');
    a.subscribe((e) => events.push(e.type === 'state' ? e.state : e.type === 'progress' ? `step ${e.progress.step}` : 'moved up'));
    await a.done;
    expect(a.state).toBe('failed');
    expect(a.error?.message).toBe('bad input');
    expect(events).toEqual(['step 2', 'failed']);
  });
});
