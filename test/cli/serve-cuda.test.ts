import { describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';

function sink(): NodeJS.WritableStream & { text: string } {
  const s = { text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

describe('serve with a CUDA device on a machine without the CUDA provider', () => {
  it('refuses to start (exit 1) and names the missing piece and the fix', async () => {
    const stderr = sink();
    let prepared = false;
    const code = await runServe([], { stdout: sink(), stderr }, {
      env: { DEVICES: 'cuda:0', MODEL_DIR: '/nonexistent/model', LOG_LEVEL: 'silent' },
      prepareModel: async () => { prepared = true; },
    });
    expect(code).toBe(1);
    expect(prepared).toBe(false);
    expect(stderr.text).toMatch(/CUDA execution provider for DEVICES=cuda:0 cannot start/);
    expect(stderr.text).toMatch(/npm run provision:cuda/);
  });
});
