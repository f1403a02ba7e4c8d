import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertCheckpoint, decodeModel, type Manifest } from '../../../src/convert/index.js';
import { listCases, openCase, type GoldenCase } from '../../../src/cli/verify/fixture.js';
import { transformerCaseFeeds } from '../../../src/cli/verify/transformer-case.js';
import { OrtSession } from '../../../src/engine/ort/index.js';
import { OrtDenoiser } from '../../../src/engine/ort-denoiser.js';
import { leadingColumns } from '../../../src/pipeline/index.js';
import { relL2, type HostTensor, type TensorData } from '../../../src/shared/index.js';
import { shorterPromptPositions } from '../../support/tensors.js';

const FIXTURE = path.resolve('test/fixtures/cosmos3-tiny');

/** Columns [0, n) of a [3, N] positions tensor. */
function textColumns(p: HostTensor<TensorData>, n: number): HostTensor<Float32Array> {
  return { data: leadingColumns(p.data as Float32Array, n), shape: [3, n] };
}

describe('split transformer graphs (transformer_text + transformer_gen*) against the single graph', () => {
  let out: string;
  let manifest: Manifest;
  const sessions = new Map<string, OrtSession>();
  const session = async (name: string) => {
    let s = sessions.get(name);
    if (!s) {
      s = await OrtSession.create(path.join(out, manifest.graphs[name].file), { device: 'cpu', threads: 1 });
      sessions.set(name, s);
    }
    return s;
  };
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-tfsplit-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
  });
  afterAll(async () => {
    for (const s of sessions.values()) await s.release();
    await rm(out, { recursive: true, force: true });
  });

  it('writes the text graph and one generator graph per variant, with the documented I/O', () => {
    expect(Object.keys(manifest.graphs)).toEqual(expect.arrayContaining(['transformer_text', 'transformer_gen', 'transformer_gen_action', 'transformer_gen_sound']));
    const text = manifest.graphs.transformer_text;
    expect(text.inputs.map((i) => [i.name, i.dtype])).toEqual([['input_ids', 'int64'], ['positions', 'float32']]);
    expect(text.outputs.map((o) => o.name)).toEqual(['text_k.0', 'text_v.0', 'text_k.1', 'text_v.1']);
    expect(text.outputs[0].dims).toEqual(['text_len', 2, 32]);
    const gen = manifest.graphs.transformer_gen_action;
    expect(gen.inputs.map((i) => i.name)).toEqual([
      'text_k.0', 'text_v.0', 'text_k.1', 'text_v.1', 'positions', 'timestep', 'vision_latents', 'vision_noisy', 'action_tokens', 'action_noisy', 'domain_id',
    ]);
    expect(gen.outputs.map((o) => o.name)).toEqual(manifest.graphs.transformer_action.outputs.map((o) => o.name));
  });

  it('text + generator graphs equal the single graph (≤ 1e-6) and every tf_* golden case (≤ 1e-4)', async () => {
    await expectSplitMatchesSingle(FIXTURE, session);
  });

  it('the same on the real attention layout with a hidden size other than heads × head_dim (cosmos3-heads128)', async () => {
    const fixture = path.resolve('test/fixtures/cosmos3-heads128');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-tfsplit128-'));
    const own = new Map<string, OrtSession>();
    try {
      const m = await convertCheckpoint({ checkpoint: fixture, out: dir, dtype: 'float32', hash: false, servable: false }); // no VAE
      expect(m.graphs.transformer_text.outputs[0].dims).toEqual(['text_len', 1, 128]);
      await expectSplitMatchesSingle(fixture, async (name) => {
        let s = own.get(name);
        if (!s) own.set(name, (s = await OrtSession.create(path.join(dir, m.graphs[name].file), { device: 'cpu', threads: 1 })));
        return s;
      });
    } finally {
      for (const s of own.values()) await s.release();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Every tf_* case of a fixture through transformer_text + transformer_gen*: equal to the single graph and the golden outputs. */
async function expectSplitMatchesSingle(fixture: string, session: (name: string) => Promise<OrtSession>): Promise<void> {
  const cases = (await listCases(fixture)).filter((c) => c.startsWith('tf_'));
  expect(cases.length).toBeGreaterThan(0);
  for (const name of cases) {
    const c = await openCase(fixture, name);
    try {
      const { variant, feeds, outputs } = await transformerCaseFeeds(c);
      const single = await (await session(`transformer${variant}`)).run(feeds);
      const ids = feeds.input_ids;
      const kv = await (await session('transformer_text')).run({ input_ids: ids, positions: textColumns(feeds.positions, ids.data.length) });
      const genFeeds = { ...kv, ...feeds };
      delete genFeeds.input_ids;
      const split = await (await session(`transformer_gen${variant}`)).run(genFeeds);
      for (const [ours, ref] of outputs) {
        const a = split[ours].data as Float32Array;
        expect.soft(split[ours].shape, `${name} ${ours} shape`).toEqual(single[ours].shape);
        expect.soft(relL2(a, single[ours].data as Float32Array), `${name} ${ours} vs single`).toBeLessThanOrEqual(1e-6);
        expect.soft(relL2(a, (await c.f32(ref)).data), `${name} ${ref}`).toBeLessThan(1e-4);
      }
    } finally {
      await c.close();
    }
  }
}

describe('transformer_gen_merged: the served generator with guidance pairing built in', () => {
  let out: string;
  let manifest: Manifest;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'c3s-tfmerged-'));
    manifest = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float32', hash: false });
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it("declares the action generator's inputs plus the second pass's and `paired`; no separate pair graph", () => {
    const merged = manifest.graphs.transformer_gen_merged;
    expect(merged.inputs.map((i) => i.name)).toEqual([
      'text_k.0', 'text_v.0', 'text_k.1', 'text_v.1', 'positions',
      'uncond_text_k.0', 'uncond_text_v.0', 'uncond_text_k.1', 'uncond_text_v.1', 'uncond_positions',
      'timestep', 'vision_latents', 'vision_noisy', 'action_tokens', 'action_noisy', 'domain_id', 'paired',
    ]);
    expect(merged.outputs.map((o) => o.name)).toEqual(['vision_velocity', 'action_velocity', 'uncond_vision_velocity']);
    expect(manifest.graphs.transformer_gen_pair).toBeUndefined();
  });

  it('stores each weight once: the If bodies hold no initializers and read the same weights as the plain generator', async () => {
    type G = { node: { opType: string; attribute?: { name: string; g?: { initializer?: unknown[]; node: unknown[] } }[] }[]; initializer: { name: string; externalData?: { key: string; value: string }[] }[] };
    const load = async (g: string) => (decodeModel(await readFile(path.join(out, manifest.graphs[g].file))) as { graph: G }).graph;
    const [merged, plain] = [await load('transformer_gen_merged'), await load('transformer_gen_action')];
    const ifs = merged.node.filter((n) => n.opType === 'If');
    expect(ifs).toHaveLength(1);
    for (const branch of ['then_branch', 'else_branch']) {
      const body = ifs[0].attribute!.find((a) => a.name === branch)!.g!;
      expect(body.node.length).toBeGreaterThan(50);
      expect(body.initializer ?? [], branch).toEqual([]);
    }
    const external = (g: G) => g.initializer.filter((i) => i.externalData?.length).map((i) => i.name).sort();
    expect(external(merged)).toEqual(external(plain));
    const names = merged.initializer.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('paired = 0 equals transformer_gen_action exactly, vision and action cases; paired = 1 equals two runs (≤ 1e-6)', async () => {
    await expectMergedMatches(FIXTURE, out, manifest);
  });

  it('the same on the real attention layout with a hidden size other than heads × head_dim (cosmos3-heads128)', async () => {
    const fixture = path.resolve('test/fixtures/cosmos3-heads128');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-tfmerged128-'));
    try {
      await expectMergedMatches(fixture, dir, await convertCheckpoint({ checkpoint: fixture, out: dir, dtype: 'float32', hash: false, servable: false }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The merged generator graph of a converted fixture: one pass equals the plain generator, a pair equals two runs. */
async function expectMergedMatches(fixture: string, out: string, manifest: Manifest): Promise<void> {
  const open = (g: string) => OrtSession.create(path.join(out, manifest.graphs[g].file), { device: 'cpu', threads: 1 });
  const [text, gen, merged] = [await open('transformer_text'), await open('transformer_gen_action'), await open('transformer_gen_merged')];
  const da = manifest.graphs.transformer_gen_action.inputs.find((i) => i.name === 'action_tokens')!.dims[1] as number;
  const noActions = {
    action_tokens: { data: new Float32Array(0), shape: [0, da] },
    action_noisy: { data: new Float32Array(0), shape: [0] },
    domain_id: { data: new BigInt64Array([0n]), shape: [1] },
  };
  const emptyUncond = Object.fromEntries(manifest.graphs.transformer_gen_merged.inputs.filter((i) => i.name.startsWith('uncond_'))
    .map((i) => [i.name, { data: new Float32Array(0), shape: i.dims.map((d) => (typeof d === 'number' ? d : 0)) }]));
  try {
    for (const name of ['tf_t2i', 'tf_t2v', 'tf_i2v', 'tf_action_policy', 'tf_action_fd']) {
      const c = await openCase(fixture, name);
      try {
        const { feeds } = await transformerCaseFeeds(c);
        const ids = feeds.input_ids.data as BigInt64Array;
        const L = ids.length;
        const kv = await text.run({ input_ids: feeds.input_ids, positions: textColumns(feeds.positions, L) });
        const rest = Object.fromEntries(Object.entries(feeds).filter(([k]) => k !== 'input_ids'));
        const vision = !('action_tokens' in rest);
        const genFeeds = { ...kv, ...(vision ? noActions : {}), ...rest };
        // one pass: the same numbers as the plain generator graph (the same ops, in the same order)
        const plain = await gen.run(genFeeds);
        const one = await merged.run({ ...genFeeds, ...emptyUncond, paired: { data: new BigInt64Array([0n]), shape: [1] } });
        expect(one.vision_velocity.data, `${name} vision`).toEqual(plain.vision_velocity.data);
        expect(one.action_velocity.data, `${name} actions`).toEqual(plain.action_velocity.data);
        expect(one.uncond_vision_velocity.data.length).toBe(0);
        if (!vision) continue;
        // both passes: the unconditional prompt is the first 5 ids, the generator columns shifted to follow them
        const Lu = 5;
        const uncondPositions = shorterPromptPositions(feeds.positions.data as Float32Array, L, Lu);
        const ukv = await text.run({ input_ids: { data: ids.slice(0, Lu), shape: [Lu] }, positions: textColumns(uncondPositions, Lu) });
        const b = await gen.run({ ...genFeeds, ...ukv, positions: uncondPositions });
        const both = await merged.run({
          ...genFeeds,
          ...Object.fromEntries(Object.entries(ukv).map(([k, v]) => [`uncond_${k}`, v])), uncond_positions: uncondPositions,
          paired: { data: new BigInt64Array([1n]), shape: [1] },
        });
        expect(both.vision_velocity.shape).toEqual(plain.vision_velocity.shape);
        expect(both.action_velocity.data.length).toBe(0);
        expect(relL2(both.vision_velocity.data as Float32Array, plain.vision_velocity.data as Float32Array), name).toBeLessThanOrEqual(1e-6);
        expect(relL2(both.uncond_vision_velocity.data as Float32Array, b.vision_velocity.data as Float32Array), name).toBeLessThanOrEqual(1e-6);
        expect(relL2(plain.vision_velocity.data as Float32Array, b.vision_velocity.data as Float32Array), name).toBeGreaterThan(1e-3);
      } finally {
        await c.close();
      }
    }
  } finally {
    for (const s of [text, gen, merged]) await s.release();
  }
}

describe('split transformer graphs in 16-bit models: text K/V cross as float16', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('declares float16 text K/V for bfloat16 and float16 models, float32 for float32 ones', async () => {
    for (const dtype of ['bfloat16', 'float16', 'float32'] as const) {
      const out = await mkdtemp(path.join(os.tmpdir(), `c3s-tfkv-${dtype}-`));
      dirs.push(out);
      const m = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype, hash: false });
      const want = dtype === 'float32' ? 'float32' : 'float16';
      expect(m.graphs.transformer_text.outputs.every((o) => o.dtype === want), dtype).toBe(true);
      const gen = m.graphs.transformer_gen.inputs.filter((i) => /^text_[kv]\./.test(i.name));
      expect(gen.length, dtype).toBe(4);
      expect(gen.every((i) => i.dtype === want), dtype).toBe(true);
      expect(m.graphs.transformer_gen.inputs.find((i) => i.name === 'positions')!.dtype).toBe('float32');
    }
  });

  it('float16: OrtDenoiser opens the merged graph (float16 K/V for both prompts) and pairs equal two runs', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'c3s-tfpair16-'));
    dirs.push(out);
    const m = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float16', hash: false });
    expect(m.graphs.transformer_gen_merged.inputs.filter((i) => /text_[kv]/.test(i.name)).every((i) => i.dtype === 'float16')).toBe(true);
    const d = await OrtDenoiser.open(out, m, { device: 'cpu', threads: 1, pair: true });
    try {
      expect(d.graphs).toEqual(['transformer_text', 'transformer_gen_merged']);
      const c = await openCase(FIXTURE, 'tf_t2i');
      try {
        const { feeds } = await transformerCaseFeeds(c);
        const ids = feeds.input_ids.data as BigInt64Array;
        const cond = {
          inputIds: ids, positions: feeds.positions.data as Float32Array, timestep: (feeds.timestep.data as Float32Array)[0],
          visionLatents: feeds.vision_latents as HostTensor, visionNoisy: feeds.vision_noisy.data as Float32Array,
        };
        const uncond = { ...cond, inputIds: ids.slice(0, 5), positions: shorterPromptPositions(cond.positions, ids.length, 5).data };
        // one pass through the merged graph: the plain float16 generator's numbers, to the bit
        const plain = await OrtDenoiser.open(out, m, { device: 'cpu', threads: 1 });
        try {
          expect(plain.graphs).toEqual(['transformer_text', 'transformer_gen_action']);
          expect((await d.run(cond)).vision.data).toEqual((await plain.run(cond)).vision.data);
        } finally {
          await plain.release();
        }
        const both = await d.runPair(cond, uncond);
        expect(both).toBeDefined();
        expect(relL2(both![0].vision.data, (await d.run(cond)).vision.data)).toBeLessThan(1e-3);
        expect(relL2(both![1].vision.data, (await d.run(uncond)).vision.data)).toBeLessThan(1e-3);
      } finally {
        await c.close();
      }
    } finally {
      await d.release();
    }
  });

  it('float16: the generator graph fed the text graph\'s float16 K/V equals the single float16 graph', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'c3s-tfkv16-'));
    dirs.push(out);
    const m = await convertCheckpoint({ checkpoint: FIXTURE, out, dtype: 'float16', hash: false });
    const open = (g: string) => OrtSession.create(path.join(out, m.graphs[g].file), { device: 'cpu', threads: 1 });
    const [single, text, gen] = [await open('transformer'), await open('transformer_text'), await open('transformer_gen')];
    try {
      const c = await openCase(FIXTURE, 'tf_t2i');
      try {
        const { feeds } = await transformerCaseFeeds(c);
        const kv = await text.run({ input_ids: feeds.input_ids, positions: textColumns(feeds.positions, feeds.input_ids.data.length) });
        expect(kv['text_k.0'].data).toBeInstanceOf(Uint16Array);
        const genFeeds: Record<string, HostTensor<TensorData>> = { ...kv, ...feeds };
        delete genFeeds.input_ids;
        const a = (await gen.run(genFeeds)).vision_velocity.data as Float32Array;
        const b = (await single.run(feeds)).vision_velocity.data as Float32Array;
        expect(relL2(a, b)).toBeLessThan(1e-3);
        expect(relL2(a, (await c.f32('out_vision_0')).data)).toBeLessThan(2e-2);
      } finally {
        await c.close();
      }
    } finally {
      for (const s of [single, text, gen]) await s.release();
    }
  });
});
