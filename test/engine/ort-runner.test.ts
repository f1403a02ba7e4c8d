import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../src/convert/index.js';
import { GPU_WARMUP_DECODES, openOrtModel, warmVaeShapes } from '../../src/engine/ort-runner.js';
import type { VaeCodec } from '../../src/pipeline/networks.js';

function recordingVae(z: number): VaeCodec & { shapes: number[][] } {
  const shapes: number[][] = [];
  return {
    shapes,
    latentsMean: new Float32Array(z),
    latentsStd: new Float32Array(z).fill(1),
    encode: async () => {
      throw new Error('not used');
    },
    async decode(latent) {
      expect(latent.data.length).toBe(latent.shape.reduce((a, b) => a * b, 1));
      shapes.push([...latent.shape]);
      return { data: new Float32Array(0), shape: [1, 3, 0, 0, 0] };
    },
  };
}

describe('start-up VAE decodes (cuDNN picks each convolution algorithm on first sight of a shape)', () => {
  it('decodes the default canvases once on a GPU: 720p 1:1 (one latent frame) and 720p 16:9 (two)', async () => {
    const vae = recordingVae(48);
    expect(await warmVaeShapes(vae, 'cuda:0', 16)).toBe(GPU_WARMUP_DECODES.length);
    expect(vae.shapes).toEqual([[1, 48, 1, 60, 60], [1, 48, 2, 45, 80]]);
  });

  it('does nothing on the CPU provider', async () => {
    const vae = recordingVae(48);
    expect(await warmVaeShapes(vae, 'cpu', 16)).toBe(0);
    expect(vae.shapes).toEqual([]);
  });
});

describe('openOrtModel', () => {
  it('refuses a bfloat16 model on the CPU provider, saying what to do, before opening any session', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'c3s-bf16cpu-'));
    try {
      await convertCheckpoint({ checkpoint: path.resolve('test/fixtures/cosmos3-tiny'), out, dtype: 'bfloat16', hash: false });
      await expect(openOrtModel(out, 'cpu')).rejects.toMatchObject({
        code: 'C3S_ERR_MODEL_MANIFEST',
        message: expect.stringMatching(/is a bfloat16 model, which the CPU provider cannot run: serve it on a GPU \(DEVICES=cuda:0\), or convert the checkpoint with --dtype fp32/),
      });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
