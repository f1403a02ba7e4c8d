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

/**
 * Feed a tf_* case (the reference transformer's keyword arguments) to our graph and compare every output.
 * Checks that the fixture's joint-sequence layout is the one the graph builds: text, vision, sound, action.
 */
export async function runTransformerCase(c: GoldenCase, modelDir: string, manifest: Manifest, tolerance: number, positions?: Float32Array): Promise<CaseResult[]> {
  const hasAction = c.has('action_tokens_0');
  const hasSound = c.has('sound_tokens_0');
  if (hasAction && hasSound) throw new FixtureError(c.name, 'actions and sound together are not a graph variant');
  const graphName = hasAction ? 'transformer_action' : hasSound ? 'transformer_sound' : 'transformer';
  const graph = manifest.graphs[graphName];
  if (!graph) throw new FixtureError(c.name, `needs graph ${graphName}, which the checkpoint config does not enable`);

  const ids = (await c.tensor('input_ids')) as HostTensor<BigInt64Array>;
  const L = ids.data.length;
  const vision = await c.f32('vision_tokens_0');
  const T = vision.shape[2];
  const visRows = await c.i64('vision_sequence_indexes');
  expectRange(c.name, 'vision_sequence_indexes', visRows, L);
  let next = L + visRows.length;
  const feeds: Record<string, HostTensor<TensorData>> = {
    input_ids: ids,
    positions: positions ? { data: positions, shape: [3, positions.length / 3] } : await c.f32('position_ids'),
    timestep: { data: new Float32Array([Number(c.scalars.timestep)]), shape: [1] },
    vision_latents: vision,
    vision_noisy: { data: maskOf(T, await c.i64('vision_noisy_frame_indexes_0')), shape: [T] },
  };
  if (hasSound) {
    const s = await c.f32('sound_tokens_0');
    const rows = await c.i64('sound_sequence_indexes');
    expectRange(c.name, 'sound_sequence_indexes', rows, next);
    next += rows.length;
    feeds.sound_tokens = s;
    feeds.sound_noisy = { data: maskOf(s.shape[1], await c.i64('sound_noisy_frame_indexes_0')), shape: [s.shape[1]] };
  }
  if (hasAction) {
    const a = await c.f32('action_tokens_0');
    const rows = await c.i64('action_sequence_indexes');
    expectRange(c.name, 'action_sequence_indexes', rows, next);
    next += rows.length;
    feeds.action_tokens = a;
    feeds.action_noisy = { data: maskOf(a.shape[0], await c.i64('action_noisy_frame_indexes_0')), shape: [a.shape[0]] };
    feeds.domain_id = (await c.tensor('action_domain_ids_0')) as HostTensor<BigInt64Array>;
  }
  const session = await OrtSession.create(path.join(modelDir, graph.file), { device: 'cpu' });
  try {
    const out = await session.run(feeds);
    const results: CaseResult[] = [];
    const compare = async (ours: string, ref: string) => {
      const r = await c.f32(ref);
      results.push({ name: ref, relErr: relL2(out[ours].data as Float32Array, r.data), tolerance });
    };
    await compare('vision_velocity', 'out_vision_0');
    if (hasSound) await compare('sound_velocity', 'out_sound_0');
    if (hasAction) await compare('action_velocity', 'out_action_0');
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
