import path from 'node:path';
import { FixtureError, relL2, type HostTensor, type TensorData } from '../../shared/index.js';
import type { Manifest } from '../../convert/index.js';
import { OrtSession } from '../../engine/ort/index.js';
import type { GoldenCase } from './fixture.js';

export interface CaseResult {
  readonly name: string;
  readonly relErr: number;
  readonly tolerance: number;
}

/** Frame/step indexes → a 0/1 mask of length n. */
export function maskOf(n: number, ones: readonly number[]): Float32Array {
  const m = new Float32Array(n);
  for (const i of ones) m[i] = 1;
  return m;
}

/** A tf_* case as the inputs of our graph variant, and which of its outputs to compare with which golden tensor. */
export interface TransformerCaseFeeds {
  /** Graph-name suffix of the variant: transformer, transformer_action, transformer_sound. */
  readonly variant: '' | '_action' | '_sound';
  readonly feeds: Record<string, HostTensor<TensorData>>;
  /** [our output, golden tensor] pairs. */
  readonly outputs: readonly (readonly [string, string])[];
}

/**
 * The reference transformer's keyword arguments of a tf_* case as our graph's feeds. Checks that the fixture's
 * joint-sequence layout is the one the graph builds: text, vision, sound, action.
 */
export async function transformerCaseFeeds(c: GoldenCase): Promise<TransformerCaseFeeds> {
  const hasAction = c.has('action_tokens_0');
  const hasSound = c.has('sound_tokens_0');
  if (hasAction && hasSound) throw new FixtureError(c.name, 'actions and sound together are not a graph variant');
  const ids = (await c.tensor('input_ids')) as HostTensor<BigInt64Array>;
  const L = ids.data.length;
  const vision = await c.f32('vision_tokens_0');
  const T = vision.shape[2];
  const visRows = await c.i64('vision_sequence_indexes');
  expectRange(c.name, 'vision_sequence_indexes', visRows, L);
  const next = L + visRows.length;
  const feeds: Record<string, HostTensor<TensorData>> = {
    input_ids: ids,
    positions: await c.f32('position_ids'),
    timestep: { data: new Float32Array([Number(c.scalars.timestep)]), shape: [1] },
    vision_latents: vision,
    vision_noisy: { data: maskOf(T, await c.i64('vision_noisy_frame_indexes_0')), shape: [T] },
  };
  const outputs: [string, string][] = [['vision_velocity', 'out_vision_0']];
  if (hasSound) {
    const s = await c.f32('sound_tokens_0');
    expectRange(c.name, 'sound_sequence_indexes', await c.i64('sound_sequence_indexes'), next);
    feeds.sound_tokens = s;
    feeds.sound_noisy = { data: maskOf(s.shape[1], await c.i64('sound_noisy_frame_indexes_0')), shape: [s.shape[1]] };
    outputs.push(['sound_velocity', 'out_sound_0']);
    return { variant: '_sound', feeds, outputs };
  }
  if (hasAction) {
    const a = await c.f32('action_tokens_0');
    expectRange(c.name, 'action_sequence_indexes', await c.i64('action_sequence_indexes'), next);
    feeds.action_tokens = a;
    feeds.action_noisy = { data: maskOf(a.shape[0], await c.i64('action_noisy_frame_indexes_0')), shape: [a.shape[0]] };
    feeds.domain_id = (await c.tensor('action_domain_ids_0')) as HostTensor<BigInt64Array>;
    outputs.push(['action_velocity', 'out_action_0']);
    return { variant: '_action', feeds, outputs };
  }
  return { variant: '', feeds, outputs };
}

/** Feed a tf_* case to our single transformer graph and compare every output. */
export async function runTransformerCase(c: GoldenCase, modelDir: string, manifest: Manifest, tolerance: number): Promise<CaseResult[]> {
  const { variant, feeds, outputs } = await transformerCaseFeeds(c);
  const graphName = `transformer${variant}`;
  const graph = manifest.graphs[graphName];
  if (!graph) throw new FixtureError(c.name, `needs graph ${graphName}, which the checkpoint config does not enable`);
  const session = await OrtSession.create(path.join(modelDir, graph.file), { device: 'cpu' });
  try {
    const out = await session.run(feeds);
    const results: CaseResult[] = [];
    for (const [ours, ref] of outputs) {
      results.push({ name: ref, relErr: relL2(out[ours].data as Float32Array, (await c.f32(ref)).data), tolerance });
    }
    return results;
  } finally {
    await session.release();
  }
}

function expectRange(caseName: string, what: string, rows: readonly number[], start: number): void {
  rows.forEach((r, i) => {
    if (r !== start + i) throw new FixtureError(caseName, `${what} is not the contiguous range from ${start}; the graph lays rows out as text, vision, sound, action`);
  });
}
