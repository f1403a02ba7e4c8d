import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/shared/errors.js';
import { ERROR_CATALOGUE, errorCode, fromWireError, toWireError, withField } from '../../src/shared/index.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `(C3S_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => ({ code: m[1], status: Number(m[2]) }));
/** Every exported error factory of the module (exports named *Error). */
const factories = Object.entries(errors)
  .filter(([name, v]) => /^[A-Z]\w*Error$/.test(name) && typeof v === 'function')
  .map(([, v]) => v as (typeof ERROR_CATALOGUE)[number]);

describe('error catalogue', () => {
  it('ERROR_CATALOGUE lists every exported error factory', () => {
    expect(factories.length).toBeGreaterThan(0);
    expect(new Set(ERROR_CATALOGUE)).toEqual(new Set(factories));
  });

  it('codes are unique and prefixed C3S_ERR_', () => {
    const codes = ERROR_CATALOGUE.map(errorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^C3S_ERR_[A-Z_]+$/);
  });

  it('docs/errors.md has exactly one row per code, with its status', () => {
    const documented = rows.map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(ERROR_CATALOGUE.map(errorCode).sort());
    for (const f of ERROR_CATALOGUE) {
      const e = new (f as unknown as new () => { code: string; statusCode: number })();
      expect(rows.find((r) => r.code === e.code)?.status, e.code).toBe(e.statusCode);
    }
  });

  it('crosses the worker boundary and comes back as the same catalogue error', () => {
    const original = withField(new errors.InvalidFieldError('num_frames', 'too many'), 'num_frames');
    const wire = structuredClone(toWireError(original));
    const back = fromWireError(wire);
    expect(back).toBeInstanceOf(errors.InvalidFieldError);
    expect(back).toMatchObject({ code: 'C3S_ERR_INVALID_FIELD', statusCode: 400, message: 'num_frames: too many', field: 'num_frames' });
    expect(fromWireError(toWireError(new TypeError('x is undefined')))).toMatchObject({ code: 'C3S_ERR_INTERNAL', statusCode: 500 });
    expect(fromWireError({ code: 'C3S_ERR_FROM_THE_FUTURE', message: 'm' })).toMatchObject({ code: 'C3S_ERR_INTERNAL' });
  });
});
