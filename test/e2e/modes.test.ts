import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MEDIA } from '../../src/jobs/index.js';
import { probeBase64, writeImage, writeVideo } from '../support/media-fixtures.js';
import { scratch, startTestServer, type TestServer } from '../support/server-harness.js';

/** Every mode through HTTP with the real media layer (sharp, ffmpeg) and the fake runner. */

let s: TestServer;
let dir: { path: string; cleanup(): Promise<void> };
beforeAll(async () => {
  dir = await scratch('modes');
  await writeImage(join(dir.path, 'robot.jpg'), { width: 96, height: 64, format: 'jpeg' });
  await writeVideo(join(dir.path, 'clip.mp4'), { width: 80, height: 48, frames: 6, fps: 10 });
  await writeFile(join(dir.path, 'actions.json'), JSON.stringify(Array.from({ length: 20 }, () => [0, 0.5])));
  s = await startTestServer({ config: { inputRoots: [dir.path] }, media: DEFAULT_MEDIA, runnerOptions: { width: 32, height: 32 } });
});
afterAll(async () => {
  await s?.close();
  await dir?.cleanup();
});

const predict = (payload: object) => s.app.inject({ method: 'POST', url: '/predict', payload });
const probe = (b64: string, name: string) => probeBase64(dir.path, b64, name);

describe('real media end to end', () => {
  it('text2image → a JPEG', async () => {
    const res = await predict({ model_mode: 'text2image', prompt: 'p', num_steps: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const data = Buffer.from(res.json().data, 'base64');
    expect([data[0], data[1]]).toEqual([0xff, 0xd8]);
  });

  it('image2video from a local file inside INPUT_ROOTS → an MP4 of num_frames', async () => {
    const res = await predict({ model_mode: 'image2video', prompt: 'p', vision_path: join(dir.path, 'robot.jpg'), resolution: '256', num_frames: 5, num_steps: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const { stream, formatName } = await probe(res.json().data, 'i2v.mp4');
    expect(formatName).toContain('mp4');
    expect(Number(stream.nb_read_frames)).toBe(5);
  });

  it('forward_dynamics with a local clip and action file → an MP4 of chunk+1 frames', async () => {
    const res = await predict({
      model_mode: 'forward_dynamics', prompt: 'p', vision_path: join(dir.path, 'clip.mp4'), action_path: join(dir.path, 'actions.json'),
      domain_name: 'pusht', action_chunk_size: 8, num_steps: 1,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(Number((await probe(res.json().data, 'fd.mp4')).stream.nb_read_frames)).toBe(9);
  });

  it('policy echoes the clip (chunk+1 frames, fitted to the canvas) and returns actions', async () => {
    const res = await predict({ model_mode: 'policy', prompt: 'p', vision_path: join(dir.path, 'clip.mp4'), domain_name: 'pusht', action_chunk_size: 8, num_steps: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const { stream } = await probe(body.data, 'policy.mp4');
    expect(Number(stream.nb_read_frames)).toBe(9);
    expect([stream.width, stream.height]).toEqual([80, 48]);
    expect(body.sample_outputs.outputs[0].content.action).toHaveLength(8);
    expect(body.sample_outputs.outputs[0].content.action[0]).toHaveLength(2);
  });

  it('input errors are 400s naming the field', async () => {
    const outside = await predict({ model_mode: 'image2video', prompt: 'p', vision_path: '/etc/hostname', resolution: '256', num_frames: 5 });
    expect(outside.statusCode).toBe(400);
    expect(outside.json().error).toMatchObject({ code: 'C3S_ERR_INPUT_FORBIDDEN', field: 'vision_path' });
    const notImage = await predict({ model_mode: 'image2video', prompt: 'p', vision_path: join(dir.path, 'actions.json'), resolution: '256', num_frames: 5 });
    expect(notImage.statusCode).toBe(400);
    expect(notImage.json().error.field).toBe('vision_path');
    const wideActions = await predict({
      model_mode: 'forward_dynamics', prompt: 'p', vision_path: join(dir.path, 'clip.mp4'), action_path: join(dir.path, 'actions.json'), domain_name: 'av',
    });
    expect(wideActions.statusCode).toBe(400);
    expect(wideActions.json().error.field).toBe('action_path');
  });
});
