import { describe, expect, it } from 'vitest';
import { tensor } from '../../../src/shared/index.js';
import { padFrames, rgbToSigned, signedToRgb } from '../../../src/pipeline/latents/index.js';
import { actionCanvas } from '../../../src/config/index.js';
import { loadCase, maxAbsDiff } from '../../support/pipeline-fixtures.js';

describe('pixel conversions', () => {
  it('e2e_action_policy: padded canvas frame 0 in [-1, 1] equals the reference VAE input', () => {
    const c = loadCase('e2e_action_policy');
    const [h, w] = c.shape('image_uint8');
    const canvas = actionCanvas(h, w, 256, 16);
    const frames = { data: c.u8('image_uint8'), frames: 1, height: h, width: w };
    const padded = padFrames(frames, canvas.canvasHeight, canvas.canvasWidth, canvas.padMode);
    const signed = rgbToSigned(padded);
    expect(signed.shape).toEqual(c.shape('vae_encode_in_frame0'));
    expect(maxAbsDiff(signed.data, c.f32('vae_encode_in_frame0'))).toBeLessThanOrEqual(1.2e-7);
  });

  it('maps uint8 to [-1, 1] channel-first and back', () => {
    const data = Uint8Array.from([0, 128, 255, 10, 20, 30]); // [1, 1, 2, 3]
    const signed = rgbToSigned({ data, frames: 1, height: 1, width: 2 });
    expect(signed.shape).toEqual([1, 3, 1, 1, 2]);
    expect(signed.data[0]).toBe(-1);
    expect(signed.data[4]).toBe(1);
    expect(Array.from(signedToRgb(signed).data)).toEqual(Array.from(data));
  });

  it('clamps and rounds half to even', () => {
    const out = signedToRgb(tensor(Float32Array.from([-2, 0, 2]), [1, 3, 1, 1, 1]));
    expect(Array.from(out.data)).toEqual([0, 128, 255]);
  });
});
