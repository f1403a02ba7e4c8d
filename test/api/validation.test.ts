import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startValidationApp } from '../support/server-harness.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await startValidationApp({ bodyLimitBytes: 4096 });
});
afterAll(async () => {
  await app.close();
});

const V = 'https://example.com/clip.mp4';
const A = 'https://example.com/actions.json';

/** [name, body, field, a piece of the rule] — each must be a 400 naming the field. */
const BAD: [string, unknown, string, string][] = [
  ['missing prompt', {}, 'prompt', 'required'],
  ['prompt null', { prompt: null }, 'prompt', 'required'],
  ['prompt not a string', { prompt: 42 }, 'prompt', 'string'],
  ['empty prompt', { prompt: '' }, 'prompt', 'empty'],
  ['blank prompt', { prompt: '   ' }, 'prompt', 'empty'],
  ['unknown mode', { model_mode: 'text2audio', prompt: 'x' }, 'model_mode', 'text2video'],
  ['mode not a string', { model_mode: 3, prompt: 'x' }, 'model_mode', 'must be one of'],
  ['resolution as number', { prompt: 'x', resolution: 720 }, 'resolution', '"720"'],
  ['unknown resolution', { prompt: 'x', resolution: '1080' }, 'resolution', 'must be one of'],
  ['unknown aspect', { prompt: 'x', aspect_ratio: '21,9' }, 'aspect_ratio', 'must be one of'],
  ['num_frames string', { prompt: 'x', num_frames: '189' }, 'num_frames', 'integer'],
  ['num_frames fractional', { prompt: 'x', num_frames: 10.5 }, 'num_frames', 'integer'],
  ['num_frames too few', { prompt: 'x', num_frames: 4 }, 'num_frames', '≥ 5'],
  ['num_frames over 720 limit', { prompt: 'x', num_frames: 198 }, 'num_frames', '5..197'],
  ['num_frames over 256 limit', { prompt: 'x', resolution: '256', num_frames: 401 }, 'num_frames', '5..397'],
  ['text2image num_frames 5', { model_mode: 'text2image', prompt: 'x', num_frames: 5 }, 'num_frames', 'must be 1'],
  ['fps zero', { prompt: 'x', fps: 0 }, 'fps', '≥ 0.001'],
  ['fps negative', { prompt: 'x', fps: -5 }, 'fps', '≥ 0.001'],
  ['fps too small for an MP4', { prompt: 'x', fps: 1e-300 }, 'fps', '≥ 0.001 and ≤ 240'],
  ['fps string', { prompt: 'x', fps: '24' }, 'fps', 'number'],
  ['seed negative', { prompt: 'x', seed: -1 }, 'seed', '0..2147483647'],
  ['seed too large', { prompt: 'x', seed: 2 ** 31 }, 'seed', '0..2147483647'],
  ['seed fractional', { prompt: 'x', seed: 1.5 }, 'seed', 'integer'],
  ['num_steps zero', { prompt: 'x', num_steps: 0 }, 'num_steps', '1..100'],
  ['num_steps 101', { prompt: 'x', num_steps: 101 }, 'num_steps', '1..100'],
  ['guidance above 7', { prompt: 'x', guidance: 7.5 }, 'guidance', '0..7'],
  ['guidance negative', { prompt: 'x', guidance: -0.1 }, 'guidance', '0..7'],
  ['shift zero', { prompt: 'x', shift: 0 }, 'shift', 'between 0.001 and 1000'],
  ['shift too small for a schedule', { model_mode: 'text2image', prompt: 'x', shift: 1e-300 }, 'shift', 'between 0.001 and 1000'],
  ['shift too large for a schedule', { model_mode: 'text2image', prompt: 'x', shift: 1e8 }, 'shift', 'between 0.001 and 1000'],
  ['shift as bool', { prompt: 'x', shift: true }, 'shift', 'number'],
  ['negative_prompt number', { prompt: 'x', negative_prompt: 1 }, 'negative_prompt', 'string'],
  ['image2video without vision_path', { model_mode: 'image2video', prompt: 'x' }, 'vision_path', 'required'],
  ['image2video null vision_path', { model_mode: 'image2video', prompt: 'x', vision_path: null }, 'vision_path', 'required'],
  ['image2video empty vision_path', { model_mode: 'image2video', prompt: 'x', vision_path: '' }, 'vision_path', 'empty'],
  ['forward_dynamics without action_path', { model_mode: 'forward_dynamics', prompt: 'x', vision_path: V, domain_name: 'av' }, 'action_path', 'required'],
  ['action mode without domain', { model_mode: 'policy', prompt: 'x', vision_path: V }, 'domain_name', 'required'],
  ['unknown domain', { model_mode: 'policy', prompt: 'x', vision_path: V, domain_name: 'mars_rover' }, 'domain_name', 'bridge_orig_lerobot'],
  ['raw_action_dim contradicts domain', { model_mode: 'inverse_dynamics', prompt: 'x', vision_path: V, domain_name: 'av', raw_action_dim: 10 }, 'raw_action_dim', 'must be 9'],
  ['raw_action_dim string', { model_mode: 'policy', prompt: 'x', vision_path: V, domain_name: 'av', raw_action_dim: '9' }, 'raw_action_dim', 'integer'],
  ['image_size not a tier', { model_mode: 'policy', prompt: 'x', vision_path: V, domain_name: 'av', image_size: 300 }, 'image_size', '256, 480, 704, 720'],
  ['action_chunk_size zero', { model_mode: 'policy', prompt: 'x', vision_path: V, domain_name: 'av', action_chunk_size: 0 }, 'action_chunk_size', '1..256'],
  ['action_chunk_size too big', { model_mode: 'forward_dynamics', prompt: 'x', vision_path: V, action_path: A, domain_name: 'av', action_chunk_size: 1000 }, 'action_chunk_size', '1..256'],
  ['vision_path not a string', { model_mode: 'inverse_dynamics', prompt: 'x', vision_path: ['a'], domain_name: 'av' }, 'vision_path', 'string'],
  ['body is an array', [1, 2], 'body', 'JSON object'],
  ['body is a string', 'hello', 'body', 'JSON object'],
];

describe('bad requests: 400 naming the field', () => {
  it('has at least 30 distinct cases', () => {
    expect(new Set(BAD.map((b) => b[0])).size).toBeGreaterThanOrEqual(30);
  });
  for (const route of ['/predict', '/v1/jobs']) {
    it.each(BAD)(`${route}: %s`, async (_name, body, field, rule) => {
      const res = await app.inject({ method: 'POST', url: route, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      expect(res.statusCode, res.body).toBe(400);
      const err = res.json().error;
      expect(err.code).toBe('C3S_ERR_INVALID_FIELD');
      expect(err.field).toBe(field);
      expect(err.message).toContain(field);
      expect(err.message).toContain(rule);
      expect(Object.keys(res.json())).toEqual(['error']);
      expect(Object.keys(err).sort()).toEqual(['code', 'field', 'message']);
    });
  }
});

describe('other client errors', () => {
  it('invalid JSON is a 400 malformed request', async () => {
    const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: '{"prompt": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('C3S_ERR_MALFORMED_REQUEST');
  });
  it('a malformed URL or an over-long path parameter gets the server\'s error shape and a request id', async () => {
    for (const [url, status] of [['/environments/%ZZ/predict', 400], [`/environments/${'a'.repeat(101)}/predict`, 414], ['/v1/jobs/%E0%A4%A', 400]] as const) {
      const res = await app.inject({ method: 'POST', url, payload: { prompt: 'x' } });
      expect(res.statusCode, url).toBe(status);
      expect(res.json().error.code, url).toBe('C3S_ERR_MALFORMED_REQUEST');
      expect(res.headers['x-request-id'], url).toBeTruthy();
    }
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/c3s_http_request_duration_seconds_count\{method="POST",route="unmatched",status_code="414"\} 1/);
  });
  it('a body over BODY_LIMIT_BYTES is a 413', async () => {
    const res = await app.inject({ method: 'POST', url: '/predict', payload: { prompt: 'x'.repeat(10_000) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('C3S_ERR_BODY_TOO_LARGE');
  });
  it('a non-JSON content type is a 415 (text/plain too, even with a JSON body)', async () => {
    for (const [type, payload] of [['text/csv', 'a,b'], ['text/plain', '{"prompt":"x"}'], ['text/plain; charset=utf-8', '{"prompt":"x"}']]) {
      const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': type }, payload });
      expect(res.statusCode, type).toBe(415);
      expect(res.json().error.code).toBe('C3S_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
  });
  it("x-request-id: a valid one is echoed, anything else is replaced by a fresh UUID", async () => {
    const echo = async (id: string | undefined) =>
      (await app.inject({ method: 'GET', url: '/health/live', headers: id === undefined ? {} : { 'x-request-id': id } })).headers['x-request-id'];
    expect(await echo('client-7.a:b_c')).toBe('client-7.a:b_c');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const bad of ['bad id!', 'x'.repeat(129), '', 'a\u00e9']) expect(await echo(bad), JSON.stringify(bad)).toMatch(uuid);
    expect(await echo(undefined)).toMatch(uuid);
  });
  it('an unknown route is a 404 in the same shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toEqual({ code: 'C3S_ERR_ROUTE_NOT_FOUND', message: 'no route GET /nope', field: null });
  });
  it('a known path with another method is a 405 naming the allowed methods, in the same shape, with Allow', async () => {
    for (const [method, url, allow] of [
      ['GET', '/predict', 'POST'], ['PUT', '/v1/jobs', 'POST'], ['POST', '/v1/jobs/abc', 'DELETE, GET, HEAD'],
      ['DELETE', '/environments/production/predict', 'POST'], ['POST', '/health/ready', 'GET, HEAD'],
    ] as const) {
      const res = await app.inject({ method, url: `${url}?x=1` });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow, `${method} ${url}`).toBe(allow);
      expect(res.json().error).toEqual({ code: 'C3S_ERR_METHOD_NOT_ALLOWED', message: `method ${method} is not allowed on ${url} (allowed: ${allow})`, field: null });
    }
    // not a path of any route: still 404 (a trailing slash or an extra segment included)
    for (const url of ['/predict/', '/v1/jobs/abc/nope', '/environments/predict']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
    // the docs UI's routes as the router has them (its prefix with a trailing slash registers GET there too)
    const docsPost = await app.inject({ method: 'POST', url: '/docs/' });
    expect([docsPost.statusCode, docsPost.headers.allow]).toEqual([405, 'GET, HEAD']);
    // a route with this very method that found nothing (a missing docs asset) stays a 404, not "GET is not allowed"
    for (const method of ['GET', 'HEAD'] as const) {
      const missing = await app.inject({ method, url: '/docs/static/nope.js' });
      expect(missing.statusCode, method).toBe(404);
      expect(missing.headers.allow, method).toBeUndefined();
    }
  });
  it('an unknown job is a 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/does-not-exist' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('C3S_ERR_JOB_NOT_FOUND');
  });
  it('a field sent as null counts as absent (Python clients send None for a default)', async () => {
    const res = await app.inject({
      method: 'POST', url: '/v1/jobs',
      payload: { model_mode: null, prompt: 'x', negative_prompt: null, resolution: null, aspect_ratio: null, num_frames: null, fps: null, seed: null, num_steps: null, guidance: null, shift: null },
    });
    expect(res.statusCode, res.body).toBe(202);
    const status = (await app.inject({ method: 'GET', url: `/v1/jobs/${res.json().id}` })).json();
    expect(status).toMatchObject({ model_mode: 'text2video', seed: Number(res.headers['x-cosmos3-seed']) });
  });
  it('unknown fields are ignored, valid requests pass validation', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { prompt: 'x', whatever: { deep: 1 }, resolution: '256' } });
    // validation passed: the idle pool's queue accepts the job
    expect(res.statusCode).toBe(202);
  });
});

it('503 with Retry-After until the workers are ready', async () => {
  const cold = await startValidationApp({}, false);
  try {
    const res = await cold.inject({ method: 'POST', url: '/predict', payload: { prompt: 'x' } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json().error.code).toBe('C3S_ERR_NOT_READY');
    const ready = await cold.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect((await cold.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  } finally {
    await cold.close();
  }
});
