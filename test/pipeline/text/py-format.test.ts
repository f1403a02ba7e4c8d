import { describe, expect, it } from 'vitest';
import { formatFixed, pyFloatRepr, pyJsonDumps, PyFloat, pyRstrip, pyStrip, roundHalfEven } from '../../../src/pipeline/text/py-format.js';

describe('Python formatting', () => {
  it('format(x, ".Nf") rounds the exact value, ties to even', () => {
    expect(formatFixed(17 / 24, 1)).toBe('0.7');
    expect(formatFixed(9 / 16, 1)).toBe('0.6');
    expect(formatFixed(0.25, 1)).toBe('0.2');
    expect(formatFixed(0.75, 1)).toBe('0.8');
    expect(formatFixed(0.35, 1)).toBe('0.3'); // 0.35 is below the tie in binary
    expect(formatFixed(24, 0)).toBe('24');
    expect(formatFixed(24.5, 0)).toBe('24');
    expect(formatFixed(25.5, 0)).toBe('26');
    expect(formatFixed(12.5, 0)).toBe('12');
    expect(formatFixed(29.97, 0)).toBe('30');
  });

  it('round() ties to even', () => {
    expect([0.5, 1.5, 2.5, 2.6, 3].map(roundHalfEven)).toEqual([0, 2, 2, 3, 3]);
  });

  it('repr(float)', () => {
    expect([10, 24, 12.5, 0.1, 1e16, 1e-5, 123456789.125, 1e-4].map(pyFloatRepr)).toEqual([
      '10.0', '24.0', '12.5', '0.1', '1e+16', '1e-05', '123456789.125', '0.0001',
    ]);
  });

  it('strip and rstrip', () => {
    expect(pyStrip(' \t\u3000a b\n\x1c')).toBe('a b');
    expect(pyStrip('\ufeffa')).toBe('\ufeffa');
    expect(pyRstrip('a b...', '.')).toBe('a b');
  });

  it('json.dumps with ensure_ascii', () => {
    expect(pyJsonDumps({ a: 'é "q"\n', b: [1, new PyFloat(10)], c: { d: null } })).toBe(
      '{"a": "\\u00e9 \\"q\\"\\n", "b": [1, 10.0], "c": {"d": null}}',
    );
    expect(pyJsonDumps('😀\x7f')).toBe('"\\ud83d\\ude00\\u007f"');
  });
});
