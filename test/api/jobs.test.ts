import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../support/server-harness.js';

const LONG = 'long [steps=400] [ms=10]';
const short = (extra: object = {}) => ({ prompt: 'short', resolution: '256', num_frames: 5, num_steps: 3, ...extra });

async function submit(s: TestServer, payload: object): Promise<string> {
  const res = await s.app.inject({ method: 'POST', url: '/v1/jobs', payload });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}
const status = async (s: TestServer, id: string) => (await s.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json();
const until = (s: TestServer, id: string, state: string, ms = 5_000) =>
  waitFor(async () => ((await status(s, id)).state === state ? true : undefined), ms, `job ${id} ${state}`);

describe('async jobs', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ config: { queueDepth: 2 } });
  });
  afterAll(async () => {
    await s.close();
  });
  afterEach(async () => {
    // nothing left running between tests
    await waitFor(() => (s.app.jobQueue.inFlight === 0 && s.app.jobQueue.depth === 0 ? true : undefined), 5_000, 'idle queue');
  });

  it('POST /v1/jobs → 202 {id}; status shows progress and timings; result is the /predict body', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/v1/jobs', payload: short({ seed: 5 }) });
    expect(res.statusCode).toBe(202);
    expect(res.headers['x-cosmos3-seed']).toBe('5');
    const { id } = res.json();
    expect(res.headers.location).toBe(`/v1/jobs/${id}`);
    await until(s, id, 'succeeded');
    const st = await status(s, id);
    expect(st).toMatchObject({ id, model_mode: 'text2video', seed: 5, state: 'succeeded', queue_position: null, cancel_requested: false, error: null });
    expect(st.progress).toEqual({ stage: 'done', step: 3, total_steps: 3 });
    expect(st.timings.running_s).toBeGreaterThanOrEqual(0);
    expect(st.timings.stages).toHaveProperty('run_s');
    expect(st.finished_at).not.toBeNull();
    const result = await s.app.inject({ method: 'GET', url: `/v1/jobs/${id}/result` });
    expect(result.statusCode).toBe(200);
    expect(result.json()).toEqual({ name: `text2video-seed5-${id.slice(0, 8)}`, model_mode: 'text2video', format: 'mp4', data: Buffer.from('MP4 16x16x5@24').toString('base64') });
  });

  it('the result is a 409 while the job runs; queue positions count from 1', async () => {
    const a = await submit(s, short({ prompt: LONG }));
    const b = await submit(s, short());
    await until(s, a, 'running');
    const early = await s.app.inject({ method: 'GET', url: `/v1/jobs/${a}/result` });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('C3S_ERR_JOB_NOT_FINISHED');
    expect((await status(s, b)).queue_position).toBe(1);
    await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${a}` });
    await until(s, b, 'succeeded');
  });

  it('cancels a queued job at once and a running one at its next step; the next job then runs', async () => {
    const running = await submit(s, short({ prompt: LONG }));
    const queued = await submit(s, short());
    await waitFor(async () => ((await status(s, running)).progress?.step > 0 ? true : undefined));

    const delQueued = await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${queued}` });
    expect(delQueued.statusCode).toBe(200);
    expect(delQueued.json()).toMatchObject({ state: 'cancelled', cancel_requested: true });

    const t0 = Date.now();
    const delRunning = await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${running}` });
    expect(delRunning.statusCode).toBe(202);
    expect(delRunning.json()).toMatchObject({ state: 'running', cancel_requested: true });
    await until(s, running, 'cancelled');
    expect(Date.now() - t0).toBeLessThan(1_000); // 400 steps × 10 ms would be 4 s
    const st = await status(s, running);
    expect(st.progress.step).toBeLessThan(400);
    expect(st.error.code).toBe('C3S_ERR_JOB_CANCELLED');
    // where its time went, although it has no output: the worker's stages up to the cancel included
    expect(Object.keys(st.timings.stages).sort()).toEqual(['prepare_s', 'run_s', 'worker_sampling_s']);
    expect(st.timings.stages.run_s).toBeGreaterThan(0);
    expect(st.timings.stages.worker_sampling_s).toBeGreaterThan(0);
    expect(st.timings.stages.worker_sampling_s).toBeLessThanOrEqual(st.timings.stages.run_s);
    const result = await s.app.inject({ method: 'GET', url: `/v1/jobs/${running}/result` });
    expect(result.statusCode).toBe(409);
    expect(result.json().error.code).toBe('C3S_ERR_JOB_CANCELLED');

    const next = await s.app.inject({ method: 'POST', url: '/predict', payload: short() });
    expect(next.statusCode).toBe(200);
  });

  it('a full queue answers 429 with Retry-After', async () => {
    const ids = [await submit(s, short({ prompt: LONG })), await submit(s, short()), await submit(s, short())];
    const full = await s.app.inject({ method: 'POST', url: '/v1/jobs', payload: short() });
    expect(full.statusCode).toBe(429);
    expect(full.json().error.code).toBe('C3S_ERR_QUEUE_FULL');
    expect(Number(full.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const sync = await s.app.inject({ method: 'POST', url: '/predict', payload: short() });
    expect(sync.statusCode).toBe(429);
    for (const id of ids.reverse()) await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
  });

  it('a catalogue error thrown in the worker keeps its code, status and field', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/predict', payload: short({ prompt: 'x [fail=C3S_ERR_INPUT_UNREADABLE] [at=2]' }) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'C3S_ERR_INPUT_UNREADABLE', field: 'prompt' });
  });

  it('any other failure is a 500 without internals', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/predict', payload: short({ prompt: 'x [fail=boom]' }) });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('C3S_ERR_INTERNAL');
    expect(res.json().error.message).not.toContain('boom');
  });

  it('metrics move: jobs, failures, step durations, HTTP durations', async () => {
    const before = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    await s.app.inject({ method: 'POST', url: '/predict', payload: short({ model_mode: 'text2image', prompt: 'm', num_frames: 1 }) });
    await s.app.inject({ method: 'POST', url: '/predict', payload: short({ prompt: 'x [fail=boom]' }) });
    const after = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    expect(value(after, 'c3s_jobs_total{mode="text2image",state="succeeded"}')).toBe(value(before, 'c3s_jobs_total{mode="text2image",state="succeeded"}') + 1);
    expect(value(after, 'c3s_job_failures_total{code="C3S_ERR_INTERNAL"}')).toBe(value(before, 'c3s_job_failures_total{code="C3S_ERR_INTERNAL"}') + 1);
    expect(value(after, 'c3s_step_duration_seconds_count{mode="text2image"}')).toBeGreaterThan(value(before, 'c3s_step_duration_seconds_count{mode="text2image"}'));
    expect(after).toMatch(/c3s_http_request_duration_seconds_count\{method="POST",route="\/predict",status_code="200"\} \d+/);
    expect(after).toContain('c3s_queue_depth 0');
    expect(after).toContain('c3s_jobs_in_flight 0');
    expect(after).toContain('c3s_workers_ready 1');
    // the process metrics of prom-client, under their standard names
    for (const name of ['process_resident_memory_bytes', 'process_open_fds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(after).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
  });

  it('counts cancellations by reason: a DELETE is "request"', async () => {
    const series = 'c3s_job_cancellations_total{mode="text2video",reason="request"}';
    const count = async () => {
      const line = (await s.app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const before = await count();
    const id = await submit(s, short({ prompt: LONG }));
    await until(s, id, 'running');
    await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    await until(s, id, 'cancelled');
    expect(await count()).toBe(before + 1);
  });
});

describe('time limit', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ config: { requestTimeoutMs: 300 } });
  });
  afterAll(async () => {
    await s.close();
  });

  it('a job past REQUEST_TIMEOUT_S stops at its next step with 504, and the next job runs', async () => {
    const t0 = Date.now();
    const res = await s.app.inject({ method: 'POST', url: '/predict', payload: short({ prompt: LONG }) });
    expect(res.statusCode).toBe(504);
    expect(res.json().error.code).toBe('C3S_ERR_JOB_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(2_000);
    const next = await s.app.inject({ method: 'POST', url: '/predict', payload: short() });
    expect(next.statusCode).toBe(200);
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('c3s_job_failures_total{code="C3S_ERR_JOB_TIMEOUT"} 1');
  });
});

describe('worker crash', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it.each(['exit', 'throw'])('crash=%s: the job fails with a 500 without internals, the worker restarts, the queue goes on', async (how) => {
    const before = await submit(s, short({ prompt: 'before the crash' }));
    const crashing = await submit(s, short({ prompt: `x [crash=${how}] [at=2]`, num_steps: 5 }));
    const after = await submit(s, short({ prompt: 'after the crash' }));
    await until(s, crashing, 'failed');
    const res = await s.app.inject({ method: 'GET', url: `/v1/jobs/${crashing}/result` });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('C3S_ERR_WORKER_CRASHED');
    expect(res.json().error.message).not.toMatch(/exit code|fake runner/);
    expect((await status(s, before)).state).toBe('succeeded');
    await until(s, after, 'succeeded');
    expect(s.events.filter((e) => e.type === 'crash').length).toBeGreaterThanOrEqual(1);
    expect((await s.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    // /predict sees the same 500
    const sync = await s.app.inject({ method: 'POST', url: '/predict', payload: short({ prompt: `x [crash=${how}]` }) });
    expect(sync.statusCode).toBe(500);
    expect(sync.json().error.code).toBe('C3S_ERR_WORKER_CRASHED');
    await waitFor(async () => ((await s.app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200 ? true : undefined));
  });
});

describe('result retention', () => {
  it('drops finished results after RESULT_TTL_S', async () => {
    const s = await startTestServer({ config: { resultTtlMs: 150 } });
    try {
      const id = await submit(s, short());
      await until(s, id, 'succeeded');
      await waitFor(async () => ((await s.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).statusCode === 404 ? true : undefined), 3_000, 'expiry');
      const res = await s.app.inject({ method: 'GET', url: `/v1/jobs/${id}/result` });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('C3S_ERR_JOB_NOT_FOUND');
    } finally {
      await s.close();
    }
  });

  it('keeps at most RESULT_MAX_BYTES of results, dropping the oldest first', async () => {
    const s = await startTestServer({ config: { resultMaxBytes: 20 } }); // each result is 14 bytes
    try {
      const first = await submit(s, short());
      await until(s, first, 'succeeded');
      const second = await submit(s, short());
      await waitFor(async () => ((await s.app.inject({ method: 'GET', url: `/v1/jobs/${second}` })).json().state === 'succeeded' ? true : undefined));
      expect((await s.app.inject({ method: 'GET', url: `/v1/jobs/${first}` })).statusCode).toBe(404);
      expect((await s.app.inject({ method: 'GET', url: `/v1/jobs/${second}/result` })).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  });
});
