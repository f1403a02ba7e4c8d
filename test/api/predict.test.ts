import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchInput } from '../../src/media/index.js';
import { fakeMedia, startTestServer, type TestServer } from '../support/server-harness.js';
import { closedPort } from '../support/media-http.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close();
});

const V = 'https://example.com/clip.mp4';
const decode = (data: string): string => Buffer.from(data, 'base64').toString();
const predict = (payload: object) => s.app.inject({ method: 'POST', url: '/predict', payload });

describe('POST /predict answers exactly the hosted response JSON', () => {
  it('text2image: jpg, the 1,1 720 default size, one frame', async () => {
    const res = await predict({ model_mode: 'text2image', prompt: 'a lab', seed: 0, num_steps: 2 });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['name', 'model_mode', 'format', 'data']);
    expect(body).toMatchObject({ name: expect.stringMatching(/^text2image-seed0-[0-9a-f]{8}$/), model_mode: 'text2image', format: 'jpg' });
    expect(decode(body.data)).toBe('JPEG 16x16x1');
  });

  it('text2video is the default mode; num_frames rounds up to 4k+1; fps reaches the encoder', async () => {
    const res = await predict({ prompt: 'a street', resolution: '256', num_frames: 10, fps: 12, num_steps: 2, seed: 7 });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['name', 'model_mode', 'format', 'data']);
    expect(body.model_mode).toBe('text2video');
    expect(body.format).toBe('mp4');
    expect(decode(body.data)).toBe('MP4 16x16x13@12');
    expect(res.headers['x-cosmos3-seed']).toBe('7');
  });

  it('image2video: mp4', async () => {
    const res = await predict({ model_mode: 'image2video', prompt: 'p', vision_path: V, resolution: '256', num_frames: 5, num_steps: 1 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ model_mode: 'image2video', format: 'mp4' });
  });

  it('forward_dynamics: mp4 without sample_outputs (seed request)', async () => {
    const res = await predict({
      model_mode: 'forward_dynamics', vision_path: V, action_path: '[[0,1,2,3,4,5,6,7,8,9]]', prompt: 'Put the pot',
      image_size: 480, fps: 5, num_steps: 2, guidance: 1.0, shift: 5.0, seed: 0, action_chunk_size: 16, domain_name: 'bridge_orig_lerobot',
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['name', 'model_mode', 'format', 'data']);
    expect(decode(body.data)).toBe('MP4 16x16x17@5');
  });

  it.each(['inverse_dynamics', 'policy'] as const)('%s: echoes the input video and returns actions [chunk][raw_dim]', async (mode) => {
    const res = await predict({
      model_mode: mode, vision_path: V, prompt: 'drive', image_size: 480, fps: 10, num_steps: 2, guidance: 1.0, shift: 5.0,
      seed: 0, raw_action_dim: 9, action_chunk_size: 60, domain_name: 'av',
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['name', 'model_mode', 'format', 'data', 'sample_outputs']);
    // fake media: a 200x120 clip → the 16:9 480 canvas (832x480) never scales up: 200x112 content, 61 frames
    expect(decode(body.data)).toBe('MP4 192x112x61@10');
    expect(body.sample_outputs.status).toBe('success');
    expect(body.sample_outputs.outputs).toHaveLength(1);
    expect(Object.keys(body.sample_outputs.outputs[0])).toEqual(['content', 'files']);
    expect(body.sample_outputs.outputs[0].files).toEqual([]);
    const action = body.sample_outputs.outputs[0].content.action;
    expect(action).toHaveLength(60);
    expect(action[0]).toHaveLength(9);
  });
});

describe('seeds', () => {
  it('a request without a seed draws one and returns it in the name and x-cosmos3-seed', async () => {
    const res = await predict({ prompt: 'x', resolution: '256', num_frames: 5, num_steps: 1 });
    expect(res.statusCode).toBe(200);
    const seed = res.headers['x-cosmos3-seed'];
    expect(seed).toMatch(/^\d+$/);
    expect(Number(seed)).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(res.json().name).toContain(`-seed${seed}-`);
  });

  it('the same seed and request give the same output', async () => {
    const req = { model_mode: 'text2image', prompt: 'same', seed: 1234, num_steps: 1 };
    const a = await predict(req);
    const b = await predict(req);
    expect(a.json().data).toBe(b.json().data);
    expect(a.json().name).not.toBe(b.json().name);
  });

  it('"__proto__" and "constructor.prototype" keys are dropped like any unknown field', async () => {
    const payload = '{"model_mode":"text2image","prompt":"p","seed":3,"num_steps":1,"__proto__":{"x":1},"constructor":{"prototype":{"y":1}}}';
    const res = await s.app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode, res.body).toBe(200);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("answers at the hosted endpoint's path too (/environments/<name>/predict), validation included", async () => {
    const req = { model_mode: 'text2image', prompt: 'same', seed: 1234, num_steps: 1 };
    const direct = await predict(req);
    for (const env of ['production', 'development']) {
      const res = await s.app.inject({ method: 'POST', url: `/environments/${env}/predict`, payload: req });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-cosmos3-seed']).toBe('1234');
      expect(res.json().data).toBe(direct.json().data);
    }
    const bad = await s.app.inject({ method: 'POST', url: '/environments/production/predict', payload: { prompt: 'x', shift: 0 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('shift');
  });
});

describe('URL inputs reach only public addresses unless ALLOW_PRIVATE_URLS', () => {
  const payload = async () => ({ model_mode: 'image2video', prompt: 'p', vision_path: `http://127.0.0.1:${await closedPort()}/clip.jpg`, resolution: '256', num_frames: 5, num_steps: 1 });

  it.each([
    [false, 'C3S_ERR_INPUT_FORBIDDEN', /127\.0\.0\.1 is not a public address/],
    [true, 'C3S_ERR_INPUT_FETCH', /ECONNREFUSED/],
  ])('allowPrivateUrls %s → 400 %s', async (allowPrivateUrls, code, message) => {
    const server = await startTestServer({ config: { allowPrivateUrls }, media: { ...fakeMedia(), fetchInput } });
    try {
      const res = await server.app.inject({ method: 'POST', url: '/predict', payload: await payload() });
      expect(res.statusCode, res.body).toBe(400);
      const { error } = res.json() as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      expect(error.message).toMatch(/^vision_path: /);
      expect(error.message).toMatch(message);
    } finally {
      await server.close();
    }
  });
});
