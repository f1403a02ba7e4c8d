import { describe, expect, it } from 'vitest';
import { PREDICT_BODY, toJobSpec } from '../../src/api/index.js';

const spec = (body: object) => toJobSpec(PREDICT_BODY.parse(body), () => 42);
const V = 'https://example.com/v.mp4';

describe('defaults per mode (SPEC §2)', () => {
  it('text2video when model_mode is absent: 720p 16:9, 189 frames, 35 steps, guidance 6, shift 10, fps 24', () => {
    expect(spec({ prompt: 'p' })).toEqual({
      mode: 'text2video', prompt: 'p', negativePrompt: '', resolution: '720', aspectRatio: '16,9', width: 1280, height: 720,
      numFrames: 189, fps: 24, seed: 42, numSteps: 35, guidance: 6, shift: 10,
    });
  });
  it('text2image: 1,1 at 720 (960×960), 1 frame, 50 steps, guidance 4, shift 3', () => {
    expect(spec({ model_mode: 'text2image', prompt: 'p' })).toMatchObject({
      mode: 'text2image', resolution: '720', aspectRatio: '1,1', width: 960, height: 960, numFrames: 1, numSteps: 50, guidance: 4, shift: 3,
    });
  });
  it('image2video: the video defaults plus vision_path', () => {
    expect(spec({ model_mode: 'image2video', prompt: 'p', vision_path: V })).toMatchObject({
      numFrames: 189, numSteps: 35, guidance: 6, shift: 10, width: 1280, height: 720, visionPath: V,
    });
  });
  it.each(['forward_dynamics', 'inverse_dynamics', 'policy'])('%s: 30 steps, guidance 1, shift 10, tier 256, chunk 16 → 17 frames, domain resolved', (mode) => {
    const s = spec({ model_mode: mode, prompt: 'p', vision_path: V, action_path: V, domain_name: 'bridge_orig_lerobot' });
    expect(s).toMatchObject({ mode, numSteps: 30, guidance: 1, shift: 10, numFrames: 17, visionPath: V, fps: 24 });
    expect(s.action).toEqual({ imageSize: 256, chunkSize: 16, domainName: 'bridge_orig_lerobot', domainId: 7, rawDim: 10 });
    expect('actionPath' in s).toBe(mode === 'forward_dynamics');
  });
  it('explicit values win; num_frames rounds up to 4k+1; the tier × aspect table gives the size', () => {
    expect(spec({ prompt: 'p', resolution: '480', aspect_ratio: '9,16', num_frames: 90, seed: 3, num_steps: 7, guidance: 1, shift: 2, fps: 10, negative_prompt: 'n' })).toMatchObject({
      width: 480, height: 832, numFrames: 93, seed: 3, numSteps: 7, guidance: 1, shift: 2, fps: 10, negativePrompt: 'n',
    });
    expect(spec({ prompt: 'p', resolution: '768', aspect_ratio: '4,3', num_frames: 197 })).toMatchObject({ width: 1184, height: 880, numFrames: 197 });
  });
  it('action_chunk_size sets the frames; raw_action_dim equal to the domain is accepted', () => {
    expect(spec({ model_mode: 'inverse_dynamics', prompt: 'p', vision_path: V, domain_name: 'av', raw_action_dim: 9, action_chunk_size: 60, image_size: 480 })).toMatchObject({
      numFrames: 61, action: { imageSize: 480, chunkSize: 60, rawDim: 9, domainId: 1 },
    });
  });
  it('draws a seed only when absent', () => {
    let n = 0;
    const draw = () => ++n;
    expect(toJobSpec(PREDICT_BODY.parse({ prompt: 'p' }), draw).seed).toBe(1);
    expect(toJobSpec(PREDICT_BODY.parse({ prompt: 'p', seed: 0 }), draw).seed).toBe(0);
  });
});
