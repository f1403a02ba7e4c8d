import { describe, expect, it } from 'vitest';
import { ENV_SCHEMA } from '../../src/config/index.js';

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
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['API_KEY', 'two words', 'API_KEY must not contain whitespace'],
  ])('%s=%s is refused: %s', (name, value, message) => {
    const r = ENV_SCHEMA.safeParse({ [name]: value });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0].message).toContain(message);
  });
});
