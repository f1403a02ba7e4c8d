import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyModel } from '../../src/convert/tiny/index.js';
import { DEFAULT_MEDIA, defaultRunnerModule } from '../../src/jobs/index.js';
import { probeBase64, writeImage, writeVideo } from '../support/media-fixtures.js';
import { scratch, startTestServer, type TestServer } from '../support/server-harness.js';

/**
 * The seed's six example payloads through POST /predict on the embedded tiny model, with the real ONNX
 * Runtime runner in a worker and the real media layer. vision_path/action_path name local files (tests have
 * no network); video sizes and step counts are reduced so CPU runs take seconds (text2image runs as given).
 */

const MODEL_DIR = resolve('models/tiny');
let s: TestServer;
let dir: { path: string; cleanup(): Promise<void> };

beforeAll(async () => {
  await ensureTinyModel(MODEL_DIR);
  dir = await scratch('tiny-e2e');
  await writeImage(join(dir.path, 'robot_153.jpg'), { width: 320, height: 240, format: 'jpeg' });
  await writeVideo(join(dir.path, 'bridge_0.mp4'), { width: 320, height: 256, frames: 24, fps: 5 });
  await writeVideo(join(dir.path, 'av.mp4'), { width: 160, height: 96, frames: 70, fps: 10 });
  await writeVideo(join(dir.path, 'av_720p.mp4'), { width: 1280, height: 720, frames: 9, fps: 10 });
  await writeFile(join(dir.path, 'bridge_0.json'), JSON.stringify(Array.from({ length: 16 }, (_, t) => Array.from({ length: 10 }, (_, d) => Math.sin(t + d) / 2))));
  s = await startTestServer({
    config: { inputRoots: [dir.path], modelDir: MODEL_DIR, requestTimeoutMs: 600_000 },
    media: DEFAULT_MEDIA,
    runnerModule: defaultRunnerModule(),
  });
}, 600_000);
afterAll(async () => {
  await s?.close();
  await dir?.cleanup();
});

const predict = (payload: object) => s.app.inject({ method: 'POST', url: '/predict', payload });

const probe = (b64: string, name: string) => probeBase64(dir.path, b64, name);

const seed = {
  text2image: { model_mode: 'text2image', prompt: 'A medium shot of a modern robotics research laboratory with white walls and a gray floor.', resolution: '720', aspect_ratio: '16,9', num_frames: 1, seed: 0 },
  text2video: { model_mode: 'text2video', prompt: 'A bustling city street at night, neon signs reflecting on wet pavement, light rain falling.', resolution: '256', aspect_ratio: '16,9', num_frames: 17, fps: 24, seed: 0, num_steps: 2 },
  image2video: () => ({ model_mode: 'image2video', vision_path: join(dir.path, 'robot_153.jpg'), prompt: 'A robotic arm picks up the red spherical object and places it on a lower shelf, completing a smooth deliberate manipulation.', resolution: '256', aspect_ratio: '16,9', num_frames: 9, fps: 24, seed: 0, num_steps: 2 }),
  forward_dynamics: () => ({ model_mode: 'forward_dynamics', vision_path: join(dir.path, 'bridge_0.mp4'), action_path: join(dir.path, 'bridge_0.json'), prompt: 'Put the pot to the left of the purple item. This video is captured from a first-person perspective looking at the scene.', image_size: 480, fps: 5, num_steps: 2, guidance: 1.0, shift: 5.0, seed: 0, action_chunk_size: 16, domain_name: 'bridge_orig_lerobot' }),
  inverse_dynamics: () => ({ model_mode: 'inverse_dynamics', vision_path: join(dir.path, 'av.mp4'), prompt: 'You are an autonomous vehicle planning system. This video is captured from a first-person perspective looking at the scene.', image_size: 480, fps: 10, num_steps: 2, guidance: 1.0, shift: 5.0, seed: 0, raw_action_dim: 9, action_chunk_size: 60, domain_name: 'av' }),
  policy: () => ({ model_mode: 'policy', vision_path: join(dir.path, 'bridge_0.mp4'), prompt: 'Put the pot to the left of the purple item. This video is captured from a first-person perspective looking at the scene.', image_size: 480, fps: 5, num_steps: 2, guidance: 1.0, shift: 5.0, seed: 0, action_chunk_size: 16, raw_action_dim: 10, domain_name: 'bridge_orig_lerobot' }),
};

describe('the six modes on the embedded tiny model', () => {
  it('text2image (the seed payload as given) → a decodable 1280×720 JPEG; same seed ⇒ same bytes, other seed ⇒ other bytes', async () => {
    const a = await predict(seed.text2image);
    expect(a.statusCode, a.body).toBe(200);
    const body = a.json();
    expect(Object.keys(body).sort()).toEqual(['data', 'format', 'model_mode', 'name']);
    expect(body).toMatchObject({ model_mode: 'text2image', format: 'jpg' });
    const sharp = (await import('sharp')).default;
    const meta = await sharp(Buffer.from(body.data, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 1280, 720]);
    const b = await predict(seed.text2image);
    expect(b.json().data).toBe(body.data);
    const c = await predict({ ...seed.text2image, seed: 1 });
    expect(c.json().data).not.toBe(body.data);
  });

  it('text2video → H.264 MP4 with the requested frame count and fps; deterministic per seed', async () => {
    const a = await predict(seed.text2video);
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json()).toMatchObject({ model_mode: 'text2video', format: 'mp4' });
    const { stream } = await probe(a.json().data, 't2v.mp4');
    expect(stream.codec_name).toBe('h264');
    expect(Number(stream.nb_read_frames)).toBe(17);
    expect(stream.r_frame_rate).toBe('24/1');
    expect([stream.width, stream.height]).toEqual([320, 192]);
    const b = await predict(seed.text2video);
    expect(b.json().data).toBe(a.json().data);
    const c = await predict({ ...seed.text2video, seed: 7 });
    expect(c.json().data).not.toBe(a.json().data);
  });

  it('image2video from a local image → MP4 with the requested frames', async () => {
    const a = await predict(seed.image2video());
    expect(a.statusCode, a.body).toBe(200);
    const { stream } = await probe(a.json().data, 'i2v.mp4');
    expect([stream.codec_name, Number(stream.nb_read_frames), stream.r_frame_rate]).toEqual(['h264', 9, '24/1']);
  });

  it('forward_dynamics → MP4 of chunk+1 frames at the request fps, no actions', async () => {
    const a = await predict(seed.forward_dynamics());
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json().sample_outputs).toBeUndefined();
    const { stream } = await probe(a.json().data, 'fd.mp4');
    expect([stream.codec_name, Number(stream.nb_read_frames), stream.r_frame_rate]).toEqual(['h264', 17, '5/1']);
  });

  it('inverse_dynamics → actions [chunk][raw_dim] plus the echoed video', async () => {
    const a = await predict(seed.inverse_dynamics());
    expect(a.statusCode, a.body).toBe(200);
    const body = a.json();
    expect(body.sample_outputs.status).toBe('success');
    const action = body.sample_outputs.outputs[0].content.action as number[][];
    expect(action.length).toBe(60);
    expect(action.every((r) => r.length === 9 && r.every(Number.isFinite))).toBe(true);
    const { stream } = await probe(body.data, 'id.mp4');
    expect(Number(stream.nb_read_frames)).toBe(61);
  });

  it('an HD dashcam clip scaled down to a canvas whose content is not a multiple of 16 (1280×720 at 256, 480, 704)', async () => {
    // 16:9 content scaled into the tier's bin: 320×180, 832×468, 1252×704 — the canvas is the one computed from the
    // source size, never re-derived from the scaled frames (which would cut them to 320×176, 832×464, 1248×704)
    for (const [imageSize, width, height] of [[256, 320, 180], [480, 832, 468], [704, 1252, 704]]) {
      const a = await predict({ ...seed.inverse_dynamics(), vision_path: join(dir.path, 'av_720p.mp4'), image_size: imageSize, action_chunk_size: 4, num_steps: 1 });
      expect(a.statusCode, `${imageSize}: ${a.body}`).toBe(200);
      expect(a.json().sample_outputs.outputs[0].content.action).toHaveLength(4);
      const { stream } = await probe(a.json().data, `id-${imageSize}.mp4`);
      expect([stream.width, stream.height, Number(stream.nb_read_frames)]).toEqual([width, height, 5]);
    }
  });

  it('policy → actions [chunk][raw_dim] plus the echoed video; same seed ⇒ same actions', async () => {
    const a = await predict(seed.policy());
    expect(a.statusCode, a.body).toBe(200);
    const action = a.json().sample_outputs.outputs[0].content.action as number[][];
    expect(action.length).toBe(16);
    expect(action.every((r) => r.length === 10)).toBe(true);
    const b = await predict(seed.policy());
    expect(b.json().sample_outputs).toEqual(a.json().sample_outputs);
    const c = await predict({ ...seed.policy(), seed: 3 });
    expect(c.json().sample_outputs.outputs[0].content.action).not.toEqual(action);
  });

  it('every domain is served, the widest (embodiment_b, 30 values) included', async () => {
    const res = await predict({ ...seed.policy(), domain_name: 'embodiment_b', raw_action_dim: undefined, action_chunk_size: 4, image_size: 256, num_steps: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const action = res.json().sample_outputs.outputs[0].content.action as number[][];
    expect([action.length, ...new Set(action.map((r) => r.length))]).toEqual([4, 30]);
    expect(action.flat().every(Number.isFinite)).toBe(true);
  });
});

describe('the same modes through /v1/jobs', () => {
  async function viaJobs(payload: object): Promise<{ state: string; result: Record<string, unknown> }> {
    const created = await s.app.inject({ method: 'POST', url: '/v1/jobs', payload });
    expect(created.statusCode, created.body).toBe(202);
    const id = created.json().id as string;
    for (let i = 0; i < 600; i++) {
      const st = (await s.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json();
      if (['succeeded', 'failed', 'cancelled'].includes(st.state)) {
        const res = await s.app.inject({ method: 'GET', url: `/v1/jobs/${id}/result` });
        return { state: st.state, result: res.json() };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('job did not finish');
  }

  for (const mode of ['text2video', 'image2video', 'forward_dynamics', 'inverse_dynamics', 'policy'] as const) {
    it(`${mode}: the job result equals the /predict response for the same seed`, async () => {
      const v = seed[mode];
      const payload = typeof v === 'function' ? v() : v;
      const job = await viaJobs(payload);
      expect(job.state).toBe('succeeded');
      const direct = (await predict(payload)).json();
      expect(job.result.data).toBe(direct.data);
      expect(job.result.sample_outputs).toEqual(direct.sample_outputs);
      expect(job.result.model_mode).toBe(mode);
    });
  }
});
