import path from 'node:path';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { readConfig, SchedulerConfigSchema, TransformerConfigSchema } from '../../src/convert/index.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

describe('TransformerConfigSchema', () => {
  it('reads the mRoPE sections as the reference does: rope_axes_dim, else rope_scaling.mrope_section, else [24, 20, 20]', async () => {
    const cfg = JSON.parse(await readFile(path.join(FIXTURE, 'transformer', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(TransformerConfigSchema.parse(cfg).rope_axes_dim).toEqual([8, 4, 4]); // the fixture's own
    const { rope_axes_dim: _dropped, ...without } = cfg;
    expect(TransformerConfigSchema.parse({ ...without, rope_scaling: { type: 'default', mrope_section: [6, 5, 5] } }).rope_axes_dim).toEqual([6, 5, 5]);
    expect(TransformerConfigSchema.parse({ ...without, rope_axes_dim: null, rope_scaling: null }).rope_axes_dim).toEqual([24, 20, 20]);
    expect(TransformerConfigSchema.parse({ ...cfg, rope_scaling: { mrope_section: [6, 5, 5] } }).rope_axes_dim).toEqual([8, 4, 4]);
    expect(() => TransformerConfigSchema.parse({ ...without, rope_scaling: { mrope_section: [1, 2] } })).toThrow(/mrope_section/);
  });
});

describe('SchedulerConfigSchema', () => {
  const tiny = async () => JSON.parse(await readFile(path.join(FIXTURE, 'scheduler', 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;

  it("accepts the fixture's flow UniPC (order 2 and 1, with or without lower_order_final) and reads what the sampler needs", async () => {
    const cfg = await tiny();
    expect(SchedulerConfigSchema.parse(cfg)).toMatchObject({ num_train_timesteps: 1000, flow_shift: 10, solver_order: 2, lower_order_final: true });
    expect(SchedulerConfigSchema.parse({ ...cfg, solver_order: 1, lower_order_final: false })).toMatchObject({ solver_order: 1, lower_order_final: false });
    // the options the solver does not implement may be present when off (null, false, an empty list)
    expect(() => SchedulerConfigSchema.parse({ ...cfg, thresholding: false, disable_corrector: [], solver_p: null, shift_terminal: null, use_karras_sigmas: false })).not.toThrow();
  });

  it('refuses, naming the field, every setting that would change the math', async () => {
    const cfg = await tiny();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-sched-'));
    try {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ solver_order: 3 }, /solver_order: only 1 and 2 are supported/],
        [{ solver_type: 'bh1' }, /solver_type: only "bh2" is supported, got "bh1"/],
        [{ predict_x0: false }, /predict_x0: only true is supported, got false/],
        [{ prediction_type: 'epsilon' }, /prediction_type: only "flow_prediction" is supported, got "epsilon"/],
        [{ prediction_type: undefined }, /prediction_type: only "flow_prediction" is supported, got "epsilon" \(diffusers' default\)/],
        [{ use_flow_sigmas: undefined }, /use_flow_sigmas: only true is supported, got false \(diffusers' default\)/],
        [{ final_sigmas_type: 'sigma_min' }, /final_sigmas_type: only "zero" is supported/],
        [{ use_karras_sigmas: true }, /use_karras_sigmas: not supported \(got true\)/],
        [{ use_dynamic_shifting: true }, /use_dynamic_shifting: not supported/],
        [{ disable_corrector: [0] }, /disable_corrector: not supported \(got \[0\]\)/],
        [{ thresholding: true }, /thresholding: not supported/],
        [{ shift_terminal: 0.1 }, /shift_terminal: not supported/],
      ];
      for (const [change, message] of cases) {
        const file = path.join(dir, 'scheduler_config.json');
        await writeFile(file, JSON.stringify({ ...cfg, ...change }));
        await expect(readConfig(file, SchedulerConfigSchema), JSON.stringify(change)).rejects.toThrow(message);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
