import { describe, expect, it } from 'vitest';
import { checkApiKey } from '../../src/api/index.js';
import { startValidationApp } from '../support/server-harness.js';

describe('checkApiKey', () => {
  it.each([
    ['Api-Key s3cret', true],
    ['Bearer s3cret', true],
    ['bearer s3cret', true],
    ['Api-Key  s3cret ', true],
    ['Api-Key s3cre', false],
    ['Api-Key s3cret2', false],
    ['Basic s3cret', false],
    ['s3cret', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (header, ok) => {
    expect(checkApiKey(header, 's3cret')).toBe(ok);
  });
});

describe('auth', () => {
  it('is off without API_KEY', async () => {
    const app = await startValidationApp();
    try {
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/predict', payload: {} })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('with API_KEY, every route but health needs the key (401 otherwise)', async () => {
    const app = await startValidationApp({ apiKey: 'k-123' });
    try {
      for (const [method, url] of [['POST', '/predict'], ['POST', '/environments/production/predict'], ['POST', '/v1/jobs'], ['GET', '/v1/jobs/x'], ['DELETE', '/v1/jobs/x'], ['GET', '/metrics'], ['GET', '/docs/json'], ['GET', '/nope']] as const) {
        const res = await app.inject({ method, url, payload: method === 'POST' ? {} : undefined });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json().error.code).toBe('C3S_ERR_UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe('Bearer');
        const wrong = await app.inject({ method, url, headers: { authorization: 'Api-Key k-124' } });
        expect(wrong.statusCode).toBe(401);
      }
      expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
      for (const authorization of ['Api-Key k-123', 'Bearer k-123']) {
        expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization } })).statusCode).toBe(200);
        // authorized: validation runs (400), not 401
        expect((await app.inject({ method: 'POST', url: '/predict', headers: { authorization }, payload: {} })).statusCode).toBe(400);
      }
    } finally {
      await app.close();
    }
  });
});

describe('health and docs', () => {
  it('live and ready', async () => {
    const app = await startValidationApp();
    try {
      expect((await app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).json()).toEqual({ status: 'ready', workers: { ready: 1, total: 1 } });
    } finally {
      await app.close();
    }
  });

  it('serves an OpenAPI document generated from the zod schemas, and the UI at /docs', async () => {
    const app = await startValidationApp();
    try {
      const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/predict', '/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/result', '/v1/jobs/{id}/events', '/health/ready', '/metrics']));
      const body = JSON.stringify(doc.paths['/predict'].post.requestBody);
      for (const mode of ['Text2ImageRequest', 'Text2VideoRequest', 'Image2VideoRequest', 'ForwardDynamicsRequest', 'InverseDynamicsRequest', 'PolicyRequest']) {
        expect(body).toContain(mode);
      }
      expect(JSON.stringify(doc.components.schemas)).toContain('domain_name');
      const ui = await app.inject({ method: 'GET', url: '/docs/' });
      expect(ui.statusCode).toBe(200);
      expect(ui.headers['content-type']).toContain('text/html');
    } finally {
      await app.close();
    }
  });
});
