import path from 'node:path';
import { ModelManifestError, type HostTensor } from '../shared/index.js';
import type { Manifest, ManifestGraph } from '../convert/index.js';
import type { Denoiser, DenoiserInputs, DenoiserOutputs } from '../pipeline/networks.js';
import { OrtSession, type DeviceSpec } from './ort/index.js';

/** Input names each transformer graph must declare (docs/graphs.md); checked when the session opens. */
const VISION_INPUTS = ['input_ids', 'positions', 'timestep', 'vision_latents', 'vision_noisy'];
const ACTION_INPUTS = [...VISION_INPUTS, 'action_tokens', 'action_noisy', 'domain_id'];

function checkGraph(name: string, graph: ManifestGraph | undefined, inputs: readonly string[]): ManifestGraph {
  if (!graph) throw new ModelManifestError(name, 'graph is missing from manifest.json (convert the checkpoint again)');
  const have = new Set(graph.inputs.map((i) => i.name));
  for (const n of inputs) if (!have.has(n)) throw new ModelManifestError(name, `graph has no input ${n}`);
  for (const i of graph.inputs) {
    const want = i.name === 'input_ids' || i.name === 'domain_id' ? 'int64' : 'float32';
    if (i.dtype !== want) throw new ModelManifestError(name, `input ${i.name} is ${i.dtype}, expected ${want}`);
  }
  return graph;
}

/** The denoiser over the converted transformer graphs: vision-only, and vision + actions when present. */
export class OrtDenoiser implements Denoiser {
  readonly #vision: OrtSession;
  readonly #action: OrtSession | null;

  private constructor(vision: OrtSession, action: OrtSession | null) {
    this.#vision = vision;
    this.#action = action;
  }

  static async open(modelDir: string, manifest: Manifest, opts: { device: DeviceSpec; threads?: number }): Promise<OrtDenoiser> {
    const v = checkGraph('transformer', manifest.graphs.transformer, VISION_INPUTS);
    const vision = await OrtSession.create(path.join(modelDir, v.file), opts);
    let action: OrtSession | null = null;
    if (manifest.graphs.transformer_action) {
      const a = checkGraph('transformer_action', manifest.graphs.transformer_action, ACTION_INPUTS);
      action = await OrtSession.create(path.join(modelDir, a.file), opts).catch(async (err) => {
        await vision.release();
        throw err;
      });
    }
    return new OrtDenoiser(vision, action);
  }

  get supportsActions(): boolean {
    return this.#action !== null;
  }

  async run(inputs: DenoiserInputs): Promise<DenoiserOutputs> {
    const T = inputs.visionLatents.shape[2];
    const n = inputs.positions.length / 3;
    const feeds: Record<string, HostTensor<Float32Array | BigInt64Array>> = {
      input_ids: { data: inputs.inputIds, shape: [inputs.inputIds.length] },
      positions: { data: inputs.positions, shape: [3, n] },
      timestep: { data: new Float32Array([inputs.timestep]), shape: [1] },
      vision_latents: inputs.visionLatents,
      vision_noisy: { data: inputs.visionNoisy, shape: [T] },
    };
    if (!inputs.actions) {
      const out = await this.#vision.run(feeds);
      return { vision: out.vision_velocity as HostTensor };
    }
    if (!this.#action) throw new ModelManifestError('transformer_action', 'this model has no action graph (action_gen is off in its config)');
    const a = inputs.actions;
    feeds.action_tokens = a.tokens;
    feeds.action_noisy = { data: a.noisy, shape: [a.noisy.length] };
    feeds.domain_id = { data: new BigInt64Array([BigInt(a.domainId)]), shape: [1] };
    const out = await this.#action.run(feeds);
    return { vision: out.vision_velocity as HostTensor, action: out.action_velocity as HostTensor };
  }

  async release(): Promise<void> {
    await this.#vision.release();
    await this.#action?.release();
  }
}
