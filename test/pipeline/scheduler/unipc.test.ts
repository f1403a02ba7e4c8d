import { describe, expect, it } from 'vitest';
import { relL2 } from '../../../src/shared/index.js';
import { flowSchedule, UniPcScheduler } from '../../../src/pipeline/scheduler/index.js';
import { loadCase, readTinyJson } from '../../support/pipeline-fixtures.js';

const sched = loadCase('sched_unipc');
const config = readTinyJson<{ num_train_timesteps: number; flow_shift: number; solver_order: number; lower_order_final: boolean }>(
  'scheduler/scheduler_config.json',
);
const TOLERANCE = 1e-5;

describe('UniPcScheduler against sched_unipc', () => {
  for (const variant of ['default', 'native'] as const) {
    it(`${variant}: every step's sample within rel L2 ${TOLERANCE}`, () => {
      const n = sched.shape(`${variant}_timesteps`)[0];
      const { sigmas } = flowSchedule(n, config.flow_shift, { numTrainTimesteps: config.num_train_timesteps, native: variant === 'native' });
      const solver = new UniPcScheduler(sigmas, { order: config.solver_order, lowerOrderFinal: config.lower_order_final });
      let x = sched.f32(`${variant}_x_init`);
      const errors: number[] = [];
      for (let i = 0; i < n; i++) {
        x = solver.step(sched.f32(`${variant}_step${i}_v`), x);
        errors.push(relL2(x, sched.f32(`${variant}_step${i}_x`)));
      }
      console.info(`unipc ${variant} rel L2 per step: ${errors.map((e) => e.toExponential(2)).join(' ')}`);
      for (const e of errors) expect(e).toBeLessThanOrEqual(TOLERANCE);
      expect(solver.stepIndex).toBe(n);
      expect(() => solver.step(x, x)).toThrow(RangeError);
    });
  }

  it('the last step returns the x0 prediction', () => {
    const solver = new UniPcScheduler(new Float32Array([0.5, 0]));
    const x = new Float32Array([1, 2]);
    const v = new Float32Array([0.5, -1]);
    expect(Array.from(solver.step(v, x))).toEqual([0.75, 2.5]);
  });
});
