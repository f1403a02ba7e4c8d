import { describe, expect, it } from 'vitest';
import { actionCaption, withMetadata } from '../../../src/pipeline/text/index.js';

describe('prompt composition', () => {
  it('appends the metadata sentences after stripping trailing dots', () => {
    const media = { frames: 189, fps: 24, height: 720, width: 1280 };
    expect(withMetadata('A cat...', media, false)).toBe(
      'A cat. The video is 7.9 seconds long and is of 24 FPS. This video is of 720x1280 resolution.',
    );
    expect(withMetadata('', media, true)).toBe(
      'The video is not 7.9 seconds long and is not of 24 FPS. This video is not of 720x1280 resolution.',
    );
  });

  it('builds the action caption like json.dumps of the reference dict', () => {
    const caption = actionCaption('  grab the cup ', { frames: 17, fps: 24, height: 480, width: 832 }, 'wrist_view');
    expect(caption).toBe(
      '{"cinematography": {"framing": "This video is captured from a wrist-mounted camera."}, ' +
        '"actions": [{"time": "0:00-0:01", "description": "grab the cup."}], "duration": "0s", "fps": 24.0, ' +
        '"resolution": {"H": 480, "W": 832}, "aspect_ratio": "16,9"}',
    );
    expect(actionCaption('go!', { frames: 17, fps: 10, height: 256, width: 256 }, 'unknown_view')).toBe(
      '{"actions": [{"time": "0:00-0:02", "description": "go!"}], "duration": "1s", "fps": 10.0, "resolution": {"H": 256, "W": 256}, "aspect_ratio": "1,1"}',
    );
  });
});
