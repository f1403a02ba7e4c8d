import { describe, expect, it } from 'vitest';
import { flowSchedule, linspace } from '../../../src/pipeline/scheduler/index.js';
import { loadCase, readTinyJson, toNumbers } from '../../support/pipeline-fixtures.js';

const sched = loadCase('sched_unipc');
const config = readTinyJson<{ num_train_timesteps: number; flow_shift: number }>('scheduler/scheduler_config.json');

describe('flowSchedule', () => {
  for (const variant of ['default', 'native'] as const) {
    it(`${variant}: timesteps and float32 sigmas of sched_unipc`, () => {
      const n = sched.shape(`${variant}_timesteps`)[0];
      const got = flowSchedule(n, config.flow_shift, { numTrainTimesteps: config.num_train_timesteps, native: variant === 'native' });
      expect(got.timesteps).toEqual(toNumbers(sched.i64(`${variant}_timesteps`)));
      expect(Array.from(got.sigmas)).toEqual(Array.from(sched.f32(`${variant}_sigmas`)));
    });
  }

  const refs = [...sched.tensors.keys()].filter((k) => k.startsWith('ref_') && k.endsWith('_timesteps'));
  it('the fixture has reference schedules', () => expect(refs.length).toBeGreaterThanOrEqual(6));
  for (const key of refs) {
    const m = /^ref_[a-z]+_(\d+)_shift([\d.]+)_(default|native)_timesteps$/.exec(key);
    it(`${key}: exactly equal`, () => {
      expect(m).not.toBeNull();
      const [, steps, shift, variant] = m as RegExpExecArray;
      const got = flowSchedule(Number(steps), Number(shift), { numTrainTimesteps: 1000, native: variant === 'native' });
      expect(got.timesteps).toEqual(toNumbers(sched.i64(key)));
      expect(Array.from(got.sigmas)).toEqual(Array.from(sched.f32(key.replace('_timesteps', '_sigmas'))));
    });
  }

  it('starts below 1000 and ends at sigma 0', () => {
    const s = flowSchedule(35, 10, { numTrainTimesteps: 1000, native: false });
    expect(s.timesteps[0]).toBe(999);
    expect(s.sigmas[35]).toBe(0);
    expect(s.sigmas.length).toBe(36);
  });

  it('linspace pins the end point like numpy', () => {
    const l = linspace(1, 0.001, 4);
    expect(l[0]).toBe(1);
    expect(l[3]).toBe(0.001);
  });

  it('rejects bad arguments', () => {
    expect(() => flowSchedule(0, 10, { numTrainTimesteps: 1000, native: false })).toThrow(RangeError);
    expect(() => flowSchedule(3, 0, { numTrainTimesteps: 1000, native: false })).toThrow(RangeError);
  });
});
