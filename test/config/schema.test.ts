import { describe, expect, it } from 'vitest';
import { CLOSE_MARGIN_MS } from '../../src/api/app.js';
import { ENV_SCHEMA, MAX_SECONDS } from '../../src/config/index.js';

describe('ENV_SCHEMA', () => {
  it('gives every default', () => {
    expect(ENV_SCHEMA.parse({})).toEqual({
      HOST: '0.0.0.0', PORT: 8080, MODEL_DIR: undefined, DEVICES: ['cpu'], QUEUE_DEPTH: 16, REQUEST_TIMEOUT_S: 1800, API_KEY: undefined,
      INPUT_ROOTS: [], MAX_INPUT_BYTES: 512 * 1024 * 1024, INPUT_TIMEOUT_S: 120, BODY_LIMIT_BYTES: 1024 * 1024, RESULT_TTL_S: 3600,
      RESULT_MAX_BYTES: 2 * 1024 ** 3, SHUTDOWN_GRACE_S: 30, LOG_LEVEL: 'info', RUNNER_MODULE: undefined, PAIRED_GUIDANCE: false, ALLOW_PRIVATE_URLS: false,
    });
  });

  it('parses lists and numbers', () => {
    const v = ENV_SCHEMA.parse({ DEVICES: 'cuda:0, cuda:1', INPUT_ROOTS: '/data:/srv/in:', PORT: '9000', REQUEST_TIMEOUT_S: '2.5', LOG_LEVEL: 'DEBUG' });
    expect(v).toMatchObject({ DEVICES: ['cuda:0', 'cuda:1'], INPUT_ROOTS: ['/data', '/srv/in'], PORT: 9000, REQUEST_TIMEOUT_S: 2.5, LOG_LEVEL: 'debug' });
  });

  it('takes the longest time setting, whose timers still fire on time', () => {
    expect(ENV_SCHEMA.parse({ SHUTDOWN_GRACE_S: String(MAX_SECONDS), REQUEST_TIMEOUT_S: String(MAX_SECONDS) })).toMatchObject({ SHUTDOWN_GRACE_S: MAX_SECONDS, REQUEST_TIMEOUT_S: MAX_SECONDS });
    expect((MAX_SECONDS * 1000) + CLOSE_MARGIN_MS).toBeLessThanOrEqual(2 ** 31 - 1);
    // kept results are compared with timestamps, never a timer's delay: a month is fine
    expect(ENV_SCHEMA.parse({ RESULT_TTL_S: '2592000' }).RESULT_TTL_S).toBe(2592000);
  });

  it.each([
    ['PORT', '70000', 'PORT must be an integer in 0..65535'],
    ['PORT', 'x', 'PORT must be an integer'],
    ['QUEUE_DEPTH', '-1', 'QUEUE_DEPTH must be an integer'],
    ['DEVICES', 'gpu0', 'DEVICES must be a comma-separated list'],
    ['DEVICES', 'cpu,cpu', 'must not repeat'],
    ['REQUEST_TIMEOUT_S', '0', 'REQUEST_TIMEOUT_S must be a number of seconds > 0'],
    ['MAX_INPUT_BYTES', '1.5', 'MAX_INPUT_BYTES must be an integer'],
    ['BODY_LIMIT_BYTES', '10', 'BODY_LIMIT_BYTES must be an integer in 1024..'],
    ['RESULT_TTL_S', 'soon', 'RESULT_TTL_S must be a number of seconds'],
    // a Node.js timer over 2^31 − 1 ms fires after 1 ms: every job would time out at once, the server not start
    ['REQUEST_TIMEOUT_S', '2147484', 'REQUEST_TIMEOUT_S must be a number of seconds > 0 and ≤ 2073600 (24 days)'],
    ['INPUT_TIMEOUT_S', '3000000', 'INPUT_TIMEOUT_S must be a number of seconds > 0 and ≤ 2073600'],
    ['SHUTDOWN_GRACE_S', '2147454', 'SHUTDOWN_GRACE_S must be a number of seconds > 0 and ≤ 2073600'],
    ['RESULT_TTL_S', 'Infinity', 'RESULT_TTL_S must be a number of seconds > 0'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['API_KEY', 'two words', 'API_KEY must not contain whitespace'],
  ])('%s=%s is refused: %s', (name, value, message) => {
    const r = ENV_SCHEMA.safeParse({ [name]: value });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0].message).toContain(message);
  });
});
