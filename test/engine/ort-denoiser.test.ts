import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, type Manifest } from '../../src/convert/index.js';
import { openCase } from '../../src/cli/verify/fixture.js';
import { maskOf } from '../../src/cli/verify/transformer-case.js';
import { OrtDenoiser } from '../../src/engine/ort-denoiser.js';
import type { DenoiserInputs } from '../../src/pipeline/networks.js';
import { relL2 } from '../../src/shared/index.js';
import { shorterPromptPositions } from '../support/tensors.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

/** A tf_* golden case as the pipeline would hand it to the denoiser, plus its reference outputs. */
async function caseInputs(name: string): Promise<{ inputs: DenoiserInputs; vision: Float32Array; action?: Float32Array }> {
  const c = await openCase(FIXTURE, name);
  try {
    const vision = await c.f32('vision_tokens_0');
    const T = vision.shape[2];
    const base = {
      inputIds: (await c.tensor('input_ids')).data as BigInt64Array,
      visionLatents: vision,
      visionNoisy: maskOf(T, await c.i64('vision_noisy_frame_indexes_0')),
      timestep: Number(c.scalars.timestep),
      positions: (await c.f32('position_ids')).data,
    };
    if (!c.has('action_tokens_0')) return { inputs: base, vision: (await c.f32('out_vision_0')).data };
    const a = await c.f32('action_tokens_0');
    const actions = { tokens: a, noisy: maskOf(a.shape[0], await c.i64('action_noisy_frame_indexes_0')), domainId: (await c.i64('action_domain_ids_0'))[0] };
    return { inputs: { ...base, actions }, vision: (await c.f32('out_vision_0')).data, action: (await c.f32('out_action_0')).data };
  } finally {
    await c.close();
  }
}

describe('OrtDenoiser', () => {
  let out: string;
  let manifest: Manifest;
  let split: OrtDenoiser;
  let single: OrtDenoiser;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-ortden-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
    split = await OrtDenoiser.open(out, manifest, { device: 'cpu', threads: 1, pair: true });
    single = await OrtDenoiser.open(out, manifest, { device: 'cpu', threads: 1, split: false });
  });
  afterAll(async () => {
    await split?.release();
    await single?.release();
    await rm(out, { recursive: true, force: true });
  });

  it('opens the single graphs without the split ones (as for a 0.2.0 model folder)', async () => {
    const graphs = Object.fromEntries(Object.entries(manifest.graphs).filter(([n]) => n !== 'transformer_text' && !n.startsWith('transformer_gen')));
    const old = await OrtDenoiser.open(out, { ...manifest, graphs }, { device: 'cpu', threads: 1 });
    try {
      const { inputs } = await caseInputs('tf_t2i');
      const a = await old.run(inputs);
      expect(old.textRuns).toBe(0);
      expect(relL2(a.vision.data, (await single.run(inputs)).vision.data)).toBe(0);
    } finally {
      await old.release();
    }
  });

  it('runs the text graph once per ids array and matches the single graph', async () => {
    const { inputs, vision } = await caseInputs('tf_t2v');
    const ref = await single.run(inputs);
    expect(single.textRuns).toBe(0);
    const first = await split.run(inputs);
    const second = await split.run({ ...inputs, timestep: inputs.timestep / 2 });
    expect(split.textRuns).toBe(1);
    expect(first.vision.shape).toEqual(ref.vision.shape);
    expect(relL2(first.vision.data, ref.vision.data)).toBeLessThanOrEqual(1e-6);
    expect(relL2(first.vision.data, vision)).toBeLessThan(1e-4);
    expect(relL2(second.vision.data, (await single.run({ ...inputs, timestep: inputs.timestep / 2 })).vision.data)).toBeLessThanOrEqual(1e-6);

    const again = await split.run({ ...inputs, inputIds: inputs.inputIds.slice() });
    expect(split.textRuns).toBe(2);
    expect(relL2(again.vision.data, ref.vision.data)).toBeLessThanOrEqual(1e-6);
  });

  it('feeds cached text K/V to the action generator graph too', async () => {
    const { inputs, vision, action } = await caseInputs('tf_action_fd');
    expect(split.supportsActions).toBe(true);
    const runs = split.textRuns;
    const ref = await single.run(inputs);
    const a = await split.run(inputs);
    const b = await split.run(inputs);
    expect(split.textRuns).toBe(runs + 1);
    expect(relL2(a.vision.data, ref.vision.data)).toBeLessThanOrEqual(1e-6);
    expect(relL2(a.action!.data, ref.action!.data)).toBeLessThanOrEqual(1e-6);
    expect(relL2(b.action!.data, a.action!.data)).toBe(0);
    expect(relL2(a.vision.data, vision)).toBeLessThan(1e-4);
    expect(relL2(a.action!.data, action!)).toBeLessThan(1e-4);
    // the default (unpaired) denoiser runs the plain transformer_gen_action: the same numbers, to the bit
    const plain = await OrtDenoiser.open(out, manifest, { device: 'cpu', threads: 1 });
    try {
      expect(plain.graphs).toEqual(['transformer_text', 'transformer_gen_action']);
      const p = await plain.run(inputs);
      expect(p.vision.data).toEqual(a.vision.data);
      expect(p.action!.data).toEqual(a.action!.data);
      expect(plain.textRuns).toBe(1);
      await plain.run(inputs);
      expect(plain.textRuns).toBe(1); // cached there too
    } finally {
      await plain.release();
    }
  });

  it('keeps at most four prompts cached', async () => {
    const { inputs } = await caseInputs('tf_t2i');
    const ids = Array.from({ length: 6 }, () => inputs.inputIds.slice());
    const runs = split.textRuns;
    for (const inputIds of ids) await split.run({ ...inputs, inputIds });
    expect(split.textRuns).toBe(runs + 6);
    await split.run({ ...inputs, inputIds: ids[5] });
    await split.run({ ...inputs, inputIds: ids[2] });
    expect(split.textRuns).toBe(runs + 6);
    await split.run({ ...inputs, inputIds: ids[0] });
    expect(split.textRuns).toBe(runs + 7);
  });

  it('refuses generator graphs whose text K/V inputs disagree with the text graph\'s outputs', async () => {
    const gen = manifest.graphs.transformer_gen_action;
    const inputs = gen.inputs.map((i) => (i.name === 'text_v.1' ? { ...i, dtype: 'float16' } : i));
    const bad: Manifest = { ...manifest, graphs: { ...manifest.graphs, transformer_gen_action: { ...gen, inputs } } };
    await expect(OrtDenoiser.open(out, bad, { device: 'cpu', threads: 1 })).rejects.toThrow(/transformer_gen_action: input text_v\.1 is float16 but transformer_text gives float32/);
    const ids = manifest.graphs.transformer_gen_action.inputs.map((i) => (i.name === 'text_k.0' ? { ...i, dtype: 'int64' } : i));
    const worse: Manifest = { ...manifest, graphs: { ...manifest.graphs, transformer_gen_action: { ...manifest.graphs.transformer_gen_action, inputs: ids } } };
    await expect(OrtDenoiser.open(out, worse, { device: 'cpu', threads: 1 })).rejects.toThrow(/input text_k\.0 is int64, expected float32 or float16/);
  });

  it('runs both guidance passes as one paired transformer_gen_merged run, equal to two runs', async () => {
    const { inputs } = await caseInputs('tf_t2i');
    const uncond = { ...inputs, inputIds: inputs.inputIds.slice(0, 4), positions: shorterPromptPositions(inputs.positions, inputs.inputIds.length, 4).data };
    const pairs = split.pairRuns;
    const both = await split.runPair(inputs, uncond);
    expect(both).toBeDefined();
    expect(split.pairRuns).toBe(pairs + 1);
    expect(relL2(both![0].vision.data, (await split.run(inputs)).vision.data)).toBeLessThanOrEqual(1e-6);
    expect(relL2(both![1].vision.data, (await split.run(uncond)).vision.data)).toBeLessThanOrEqual(1e-6);

    // not paired: different latents, actions, more vision tokens than the bound, or no pair graph
    const other = { ...uncond, visionLatents: { ...inputs.visionLatents, data: inputs.visionLatents.data.slice() } };
    expect(await split.runPair(inputs, other)).toBeUndefined();
    const act = await caseInputs('tf_action_fd');
    expect(await split.runPair(act.inputs, act.inputs)).toBeUndefined();
    const bounded = await OrtDenoiser.open(out, manifest, { device: 'cpu', threads: 1, pair: true, pairMaxVisionTokens: 1 });
    try {
      expect(await bounded.runPair(inputs, uncond)).toBeUndefined();
    } finally {
      await bounded.release();
    }
    expect(await single.runPair(inputs, uncond)).toBeUndefined();
    const unpaired = await OrtDenoiser.open(out, manifest, { device: 'cpu', threads: 1 });
    try {
      expect(unpaired.graphs).toEqual(['transformer_text', 'transformer_gen_action']);
      expect(await unpaired.runPair(inputs, uncond)).toBeUndefined();
      // the merged graph's single pass is the plain generator's, to the bit
      expect((await unpaired.run(inputs)).vision.data).toEqual((await split.run(inputs)).vision.data);
    } finally {
      await unpaired.release();
    }
    const old: Manifest = { ...manifest, graphs: Object.fromEntries(Object.entries(manifest.graphs).filter(([n]) => n !== 'transformer_gen_merged')) };
    await expect(OrtDenoiser.open(out, old, { device: 'cpu', threads: 1, pair: true }))
      .rejects.toThrow(/transformer_gen_merged: guidance pairing \(PAIRED_GUIDANCE=1\) needs transformer_text and transformer_gen_merged \(converter 0\.5\.0\): convert the checkpoint again/);
    expect(split.pairRuns).toBe(pairs + 1);
  });

  it('holds one generator session: vision-only requests run the action graph with zero action rows', async () => {
    expect(split.graphs).toEqual(['transformer_text', 'transformer_gen_merged']);
    expect(single.graphs).toEqual(['transformer_action']);
    const vision = await OrtDenoiser.open(out, { ...manifest, graphs: Object.fromEntries(Object.entries(manifest.graphs).filter(([n]) => !n.includes('action'))) }, { device: 'cpu', threads: 1 });
    try {
      expect(vision.graphs).toEqual(['transformer_text', 'transformer_gen']);
      expect(vision.supportsActions).toBe(false);
      const { inputs, vision: ref } = await caseInputs('tf_t2v');
      const a = await vision.run(inputs);
      const b = await split.run(inputs);
      expect(relL2(a.vision.data, b.vision.data)).toBeLessThanOrEqual(1e-6);
      expect(b.action).toBeUndefined();
      expect(relL2(b.vision.data, ref)).toBeLessThan(1e-4);
    } finally {
      await vision.release();
    }
  });
});
