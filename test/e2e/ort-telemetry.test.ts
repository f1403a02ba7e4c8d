import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyModel } from '../../src/convert/tiny/index.js';
import { scratch, waitFor } from '../support/server-harness.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');
const MODEL_DIR = resolve('models/tiny');

/**
 * The library keeps its telemetry off on its own when it sees a CI system's variable (CI=true in most); the
 * children here run without them, so both cases measure the server's setting and not the CI's.
 */
const CI_MARKERS = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER'];

function withoutCiMarkers(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of CI_MARKERS) delete out[k];
  return out;
}

/**
 * ONNX Runtime's telemetry client (in onnxruntime-node's Linux library) writes mat-debug-<pid>.log and .ses into
 * the temp folder when the first session opens, from the inference worker's thread. The server turns it off
 * unless the operator sets ORT_DISABLE_TELEMETRY.
 */
async function tempFilesAfterStart(env: Record<string, string>): Promise<string[]> {
  const tmp = await scratch('ort-telemetry');
  try {
    const child = spawn(process.execPath, [MAIN, 'serve'], {
      env: { ...withoutCiMarkers(process.env), ORT_DISABLE_TELEMETRY: undefined, TMPDIR: tmp.path, HOST: '127.0.0.1', PORT: '0', MODEL_DIR, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = once(child, 'exit');
    try {
      // 'ready' comes after the worker opened every session (and warmed them up)
      await waitFor(() => (/"msg":"[^"]*ready/.test(out) ? true : undefined), 60_000, 'workers ready');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    return (await readdir(tmp.path)).sort();
  } finally {
    await tmp.cleanup();
  }
}

describe('ONNX Runtime telemetry', () => {
  beforeAll(async () => {
    await ensureTinyModel(MODEL_DIR);
  }, 600_000);

  it('is off by default: no files in the temp folder after the worker opened its sessions', async () => {
    expect(await tempFilesAfterStart({})).toEqual([]);
  }, 90_000);

  it("an operator's explicit ORT_DISABLE_TELEMETRY=0 is kept (the library's files appear: the setting reaches it)", async () => {
    const files = await tempFilesAfterStart({ ORT_DISABLE_TELEMETRY: '0' });
    expect(files.some((f) => /^mat-debug-\d+\.log$/.test(f)), files.join(', ')).toBe(true);
  }, 90_000);
});
