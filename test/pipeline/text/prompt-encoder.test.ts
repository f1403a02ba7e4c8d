import { describe, expect, it } from 'vitest';
import { actionCanvas } from '../../../src/config/index.js';
import { loadCase, toNumbers } from '../../support/pipeline-fixtures.js';
import { tinyChatTokenizer, tinyPromptEncoder } from '../../support/pipeline-text.js';

interface VideoCall { prompt: string; negative_prompt: string; num_frames: number; height: number; width: number; fps: number }
interface ActionCall { prompt: string; fps: number; action: { chunk_size: number; resolution_tier: number; view_point: string } }

describe('prompt encoder against the e2e cases', () => {
  const tokenizer = tinyChatTokenizer();
  const encoder = tinyPromptEncoder();

  for (const name of ['e2e_t2v', 'e2e_i2v']) {
    it(`${name}: cond and uncond ids exactly`, () => {
      const c = loadCase(name);
      const call = c.scalars.pipeline_call as VideoCall;
      const out = encoder.encodePrompts({
        prompt: call.prompt,
        negativePrompt: call.negative_prompt,
        media: { frames: call.num_frames, fps: call.fps, height: call.height, width: call.width },
      });
      expect(toNumbers(out.cond)).toEqual(toNumbers(c.i64('cond_input_ids')));
      expect(toNumbers(out.uncond)).toEqual(toNumbers(c.i64('uncond_input_ids')));
      expect(tokenizer.decode(toNumbers(out.cond))).toBe(c.scalars.cond_text_decoded);
      expect(tokenizer.decode(toNumbers(out.uncond))).toBe(c.scalars.uncond_text_decoded);
      expect(out.truncated).toBe(false);
    });
  }

  it('e2e_action_policy: the JSON caption ids exactly', () => {
    const c = loadCase('e2e_action_policy');
    const call = c.scalars.pipeline_call as ActionCall;
    const [h, w] = c.shape('image_uint8');
    const canvas = actionCanvas(h, w, call.action.resolution_tier as 256, 16);
    const out = encoder.encodePrompts({
      prompt: call.prompt,
      negativePrompt: '',
      media: { frames: call.action.chunk_size + 1, fps: call.fps, height: canvas.canvasHeight, width: canvas.canvasWidth },
      action: { viewPoint: call.action.view_point },
    });
    expect(toNumbers(out.cond)).toEqual(toNumbers(c.i64('cond_input_ids')));
    expect(tokenizer.decode(toNumbers(out.cond))).toBe(c.scalars.cond_text_decoded);
    expect(out.uncondText).toBe('');
  });

  it('images get the image system prompt and the resolution sentence only', () => {
    const out = encoder.encodePrompts({ prompt: 'a cat.', negativePrompt: '', media: { frames: 1, fps: 24, height: 720, width: 1280 } });
    expect(out.condText).toBe('a cat. This image is of 720x1280 resolution.');
    expect(out.uncondText).toBe('This image is not of 720x1280 resolution.');
    expect(tokenizer.decode(toNumbers(out.cond))).toContain('generate images');
  });

  it('the system prompt is a setting', () => {
    const off = tinyPromptEncoder({ useSystemPrompt: false }).encodePrompts({
      prompt: 'x',
      negativePrompt: '',
      media: { frames: 5, fps: 24, height: 64, width: 64 },
    });
    expect(tokenizer.decode(toNumbers(off.cond)).startsWith('<|im_start|>user\n')).toBe(true);
  });

  it('truncates long prompts by tokens and keeps the metadata', () => {
    const small = tinyPromptEncoder({ maxPromptTokens: 5 });
    const long = 'word '.repeat(200);
    const out = small.encodePrompts({ prompt: long, negativePrompt: long, media: { frames: 5, fps: 24, height: 64, width: 64 } });
    expect(out.truncated).toBe(true);
    expect(tokenizer.encode(out.condText.split('. The video')[0]).length).toBeLessThanOrEqual(5);
    expect(out.condText.endsWith('This video is of 64x64 resolution.')).toBe(true);
  });
});
