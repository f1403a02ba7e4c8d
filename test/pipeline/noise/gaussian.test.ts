import { describe, expect, it } from 'vitest';
import { LegacyRandomState, toFloat32 } from '../../../src/pipeline/noise/index.js';
import { readFixtureJson } from '../../support/pipeline-fixtures.js';

interface CountCase { seed: number; count: number; float64: string[]; float32_bits: number[] }
interface DrawsCase { seed: number; draws: number[]; float64: string[] }
interface ShapeCase { seed: number; shape: number[]; float32_bits_first16: number[]; float32_sum: string }
type NoiseCase = CountCase | DrawsCase | ShapeCase;

const { cases } = readFixtureJson<{ cases: NoiseCase[] }>('numpy-noise.json');

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

describe('LegacyRandomState.standardNormal (numpy RandomState bit-for-bit)', () => {
  const countCases = cases.filter((c): c is CountCase => 'count' in c);
  const drawsCases = cases.filter((c): c is DrawsCase => 'draws' in c);
  const shapeCases = cases.filter((c): c is ShapeCase => 'shape' in c);

  it('the fixture has every kind of case', () => {
    expect(countCases.length).toBeGreaterThan(0);
    expect(drawsCases.length).toBeGreaterThan(0);
    expect(shapeCases.length).toBeGreaterThan(0);
  });

  for (const c of countCases) {
    it(`seed ${c.seed}: ${c.count} float64 values and their float32 bits`, () => {
      const values = new LegacyRandomState(c.seed).standardNormal(c.count);
      expect(Array.from(values)).toEqual(c.float64.map(Number));
      expect(bitsOf(toFloat32(values))).toEqual(c.float32_bits);
    });
  }

  for (const c of drawsCases) {
    it(`seed ${c.seed}: consecutive draws ${c.draws.join(', ')} carry the cached Gaussian`, () => {
      const rs = new LegacyRandomState(c.seed);
      const got = c.draws.flatMap((n) => Array.from(rs.standardNormal(n)));
      expect(got).toEqual(c.float64.map(Number));
    });
  }

  for (const c of shapeCases) {
    it(`seed ${c.seed}: shaped float32 draw [${c.shape.join(', ')}]`, () => {
      const values = new LegacyRandomState(c.seed).standardNormalFloat32(c.shape);
      expect(values.length).toBe(c.shape.reduce((a, b) => a * b, 1));
      expect(bitsOf(values.subarray(0, 16))).toEqual(c.float32_bits_first16);
      let sum = 0;
      for (const v of values) sum += v;
      expect(Math.abs(sum - Number(c.float32_sum))).toBeLessThan(1e-9);
    });
  }

  it('rejects seeds numpy rejects', () => {
    expect(() => new LegacyRandomState(-1)).toThrow(RangeError);
    expect(() => new LegacyRandomState(2 ** 32)).toThrow(RangeError);
    expect(() => new LegacyRandomState(1.5)).toThrow(RangeError);
  });
});
