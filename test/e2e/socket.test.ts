import { maxHeaderSize, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../support/server-harness.js';

let s: TestServer;
let base: string;
beforeAll(async () => {
  s = await startTestServer();
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await s?.close();
});

const short = (extra: object = {}) => ({ prompt: 'short', resolution: '256', num_frames: 5, num_steps: 3, ...extra });

interface SseEvent {
  event: string;
  id: number;
  data: { state: string; progress: { stage: string; step: number; total_steps: number } | null };
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((chunk) => chunk.includes('event:'))
    .map((chunk) => {
      const field = (name: string) => chunk.split('\n').find((l) => l.startsWith(`${name}: `))!.slice(name.length + 2);
      return { event: field('event'), id: Number(field('id')), data: JSON.parse(field('data')) };
    });
}

describe('Server-Sent Events', () => {
  it('streams the state, every progress change in order, and a final state, then ends', async () => {
    const created = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(short({ num_steps: 6, prompt: 'sse [ms=15]' })) });
    const { id } = (await created.json()) as { id: string };
    const res = await fetch(`${base}/v1/jobs/${id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    expect(events[0].event).toBe('state');
    expect(events.at(-1)!.event).toBe('state');
    expect(events.at(-1)!.data.state).toBe('succeeded');
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    const steps = events.filter((e) => e.event === 'progress' && e.data.progress!.stage === 'sampling').map((e) => e.data.progress!.step);
    // every step the worker reported after the stream opened, in order, ending at the last one
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(6);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => 6 - steps.length + 1 + i));
    const stages = events.filter((e) => e.event === 'progress').map((e) => e.data.progress!.stage);
    expect(stages.slice(-2)).toEqual(['encode', 'done']);
    const states = events.filter((e) => e.event === 'state').map((e) => e.data.state);
    expect(states.at(-1)).toBe('succeeded');
  });

  it('a finished job streams its final state at once; a cancelled one ends with "cancelled"', async () => {
    const created = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(short({ prompt: 'long [steps=400] [ms=10]' })) });
    const { id } = (await created.json()) as { id: string };
    const stream = fetch(`${base}/v1/jobs/${id}/events`).then((r) => r.text());
    await waitFor(() => (s.app.jobStore.get(id)?.progress?.step ?? 0) > 1 || undefined);
    await fetch(`${base}/v1/jobs/${id}`, { method: 'DELETE' });
    const events = parseSse(await stream);
    expect(events.at(-1)!.data.state).toBe('cancelled');
    const again = parseSse(await (await fetch(`${base}/v1/jobs/${id}/events`)).text());
    expect(again).toHaveLength(1);
    expect(again[0].data.state).toBe('cancelled');
  });

  it('a queued job streams its new queue_position whenever it moves up', async () => {
    const post = async (prompt: string) => {
      const r = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(short({ prompt })) });
      return ((await r.json()) as { id: string }).id;
    };
    const running = await post('long [steps=400] [ms=10]');
    const ahead = await post('ahead');
    const last = await post('last [steps=2]');
    const stream = fetch(`${base}/v1/jobs/${last}/events`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100)); // the stream is open and has sent its first state
    await fetch(`${base}/v1/jobs/${ahead}`, { method: 'DELETE' });
    await fetch(`${base}/v1/jobs/${running}`, { method: 'DELETE' });
    const events = parseSse(await stream) as unknown as { event: string; data: { state: string; queue_position: number | null } }[];
    const positions = events.filter((e) => e.event === 'state').map((e) => `${e.data.state} ${e.data.queue_position}`);
    expect(positions).toEqual(['queued 2', 'queued 1', 'running null', 'succeeded null']);
  });
});

describe('client disconnect', () => {
  it('a /predict whose client goes away stops at the next step and frees the worker', async () => {
    const t0 = Date.now();
    const req = request(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify(short({ prompt: 'long [steps=400] [ms=10]' })));
    await waitFor(() => (s.app.jobQueue.inFlight === 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await waitFor(() => (s.app.jobQueue.inFlight === 0 ? true : undefined), 2_000, 'the job to stop');
    const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(short()) });
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2_000); // the abandoned job alone would take 4 s
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/c3s_jobs_total\{mode="text2video",state="cancelled"\} [1-9]/);
    expect(metrics).toMatch(/c3s_job_cancellations_total\{mode="text2video",reason="disconnect"\} [1-9]/);
  });
});

describe('requests Node.js refuses before Fastify sees them', () => {
  /** Raw bytes to the server; resolves with everything it answers before closing the connection. */
  const raw = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect((s.app.server.address() as AddressInfo).port, '127.0.0.1');
      let got = '';
      sock.on('data', (d) => (got += d.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
      sock.end(bytes);
    });
  const parse = (answer: string) => {
    const [head, body] = answer.split('\r\n\r\n');
    return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), body: JSON.parse(body) as { error: { code: string; message: string; field: null } } };
  };

  it('headers over the limit: 431 in the server’s error shape, connection closed', async () => {
    const r = parse(await raw(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(r.status).toBe(431);
    expect(r.head).toContain('connection: close');
    expect(r.body.error).toEqual({ code: 'C3S_ERR_HEADERS_TOO_LARGE', message: `request headers are larger than the limit of ${maxHeaderSize} bytes`, field: null });
  });

  it('bytes that are not HTTP: 400 C3S_ERR_MALFORMED_REQUEST in the same shape', async () => {
    const r = parse(await raw('HELLO THERE\r\n\r\n'));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('C3S_ERR_MALFORMED_REQUEST');
    expect(r.body.error.message).toMatch(/^malformed request: not a valid HTTP request \(HPE_/);
    // and the server goes on
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  });
});
