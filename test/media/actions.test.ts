import { describe, expect, it } from 'vitest';
import { parseActions } from '../../src/media/index.js';
import { InputUnreadableError, InvalidFieldError } from '../../src/shared/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('parseActions', () => {
  it('parses a [T][D] array of finite numbers (float32\'s largest included)', () => {
    expect(parseActions('[[3.4028234663852886e38, -3.4028234663852886e38]]', 'action_path')).toEqual([[3.4028234663852886e38, -3.4028234663852886e38]]);
    expect(parseActions(enc('[[0.1, -2, 3e-3], [4, 5, 6]]'), 'action_path')).toEqual([
      [0.1, -2, 0.003],
      [4, 5, 6],
    ]);
  });

  it('accepts a string and checks the width against the domain', () => {
    expect(parseActions('[[1,2]]', 'action_path', { width: 2 })).toEqual([[1, 2]]);
    expect(() => parseActions('[[1,2]]', 'action_path', { width: 10 })).toThrow(/rows have 2 values, the domain needs 10/);
  });

  it('invalid JSON → InputUnreadableError naming the field', () => {
    let err: unknown;
    try {
      parseActions(enc('[[1, 2'), 'action_path');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputUnreadableError);
    expect(err).toMatchObject({ statusCode: 400, field: 'action_path' });
    expect((err as Error).message).toMatch(/^action_path: action file is not valid JSON/);
  });

  it.each([
    ['{"action": [[1, 2]]}', /must be a JSON array of rows/],
    ['[]', /at least one row/],
    ['[1, 2, 3]', /row 0 is not an array/],
    ['[[]]', /rows must not be empty/],
    ['[[1, 2], [3]]', /row 1 has 1/],
    ['[[1, 2], 3]', /row 1 is not an array/],
    ['[[1, "2"]]', /\[0\]\[1\] is string/],
    ['[[1, null]]', /\[0\]\[1\] is null/],
    ['[[1, 1e999]]', /\[0\]\[1\] is Infinity/],
    ['[[1, -1e300]]', /fit in float32 .*\[0\]\[1\] is -1e\+300/],
    ['[[[1, 2]]]', /\[0\]\[0\] is an array/],
  ])('%s → 400 InvalidFieldError', (json, rule) => {
    let err: unknown;
    try {
      parseActions(json, 'action_path');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidFieldError);
    expect(err).toMatchObject({ statusCode: 400, field: 'action_path' });
    expect((err as Error).message).toMatch(/^action_path: action file /);
    expect((err as Error).message).toMatch(rule);
  });

  it('bounds the number of rows', () => {
    expect(() => parseActions(JSON.stringify([[1], [2], [3]]), 'action_path', { maxRows: 2 })).toThrow(/more than the limit of 2/);
  });
});
