import path from 'node:path';
import { ModelManifestError, type HostTensor, type TensorData } from '../shared/index.js';
import type { Manifest, ManifestGraph } from '../convert/index.js';
import type { Denoiser, DenoiserInputs, DenoiserOutputs } from '../pipeline/networks.js';
import { leadingColumns } from '../pipeline/positions/index.js';
import { OrtSession, type DeviceSpec } from './ort/index.js';

/** Input names each transformer graph must declare (docs/graphs.md); checked when the session opens. */
const VISION_INPUTS = ['input_ids', 'positions', 'timestep', 'vision_latents', 'vision_noisy'];
const ACTION_INPUTS = [...VISION_INPUTS, 'action_tokens', 'action_noisy', 'domain_id'];
const TEXT_INPUTS = ['input_ids', 'positions'];
/** Distinct prompts whose text K/V are kept (a request has a cond and an uncond prompt). */
const TEXT_CACHE_ENTRIES = 4;
/**
 * Largest vision token count whose two guidance passes run as one paired `transformer_gen_merged` run: half the
 * 720p/189-frame forward (44,160 tokens), so a pair never needs more activation memory than the largest single
 * forward. Above it the passes run one by one (there the forward is compute-bound and pairing saves nothing).
 */
export const PAIR_MAX_VISION_TOKENS = 22_080;

function checkGraph(name: string, graph: ManifestGraph | undefined, inputs: readonly string[]): ManifestGraph {
  if (!graph) throw new ModelManifestError(name, 'graph is missing from manifest.json (convert the checkpoint again)');
  const have = new Set(graph.inputs.map((i) => i.name));
  for (const n of inputs) if (!have.has(n)) throw new ModelManifestError(name, `graph has no input ${n}`);
  for (const i of graph.inputs) {
    // text K/V pass from transformer_text to transformer_gen* untouched: float16 in 16-bit models
    const want = ['input_ids', 'domain_id', 'paired'].includes(i.name) ? ['int64'] : /^(uncond_)?text_[kv]\./.test(i.name) ? ['float32', 'float16'] : ['float32'];
    if (!want.includes(i.dtype)) throw new ModelManifestError(name, `input ${i.name} is ${i.dtype}, expected ${want.join(' or ')}`);
  }
  return graph;
}

/** Each text K/V input (under every prefix) has the dtype `transformer_text` gives it. */
function checkTextKv(name: string, graph: ManifestGraph, text: ManifestGraph, prefixes: readonly string[]): void {
  for (const o of text.outputs) {
    for (const prefix of prefixes) {
      const i = graph.inputs.find((x) => x.name === `${prefix}${o.name}`);
      if (i && i.dtype !== o.dtype) throw new ModelManifestError(name, `input ${i.name} is ${i.dtype} but transformer_text gives ${o.dtype} (convert the checkpoint again)`);
    }
  }
}

/** The action width of a graph with `action_tokens` [action_len, action_dim]; undefined otherwise. */
function actionDimOf(graph: ManifestGraph): number | undefined {
  const d = graph.inputs.find((i) => i.name === 'action_tokens')?.dims[1];
  return typeof d === 'number' ? d : undefined;
}

/** A generator forward: the single graph (ids in), or, when the text graph is open, the generator graph fed with cached text K/V. */
interface Tower {
  readonly session: OrtSession;
  /** The graph it runs (manifest name). */
  readonly graph: string;
  /** Action graphs: the action width, for the empty action rows of a vision-only request. */
  readonly actionDim?: number;
  /** `transformer_gen_merged`: the feeds that make it run one pass (paired = 0, empty `uncond_*` inputs). */
  readonly singleFeeds?: Readonly<Record<string, HostTensor<TensorData>>>;
}

/** A zero-length tensor for a graph input: its symbolic dimensions 0, of its dtype. */
function emptyInput(input: ManifestGraph['inputs'][number]): HostTensor<TensorData> {
  const shape = input.dims.map((d) => (typeof d === 'number' ? d : 0));
  const data = input.dtype === 'float16' ? new Uint16Array(0) : input.dtype === 'int64' ? new BigInt64Array(0) : new Float32Array(0);
  return { data, shape };
}

/**
 * The feeds every generator graph shares for one pass: positions, timestep, vision latents and mask, and the
 * request's action rows — or, through a graph with `actionDim` (an action graph), zero action rows for a
 * vision-only request. Text comes apart: `input_ids` for a single graph, text K/V for a generator graph.
 */
export function generatorFeeds(inputs: DenoiserInputs, actionDim?: number): Record<string, HostTensor<TensorData>> {
  const feeds: Record<string, HostTensor<TensorData>> = {
    positions: { data: inputs.positions, shape: [3, inputs.positions.length / 3] },
    timestep: { data: new Float32Array([inputs.timestep]), shape: [1] },
    vision_latents: inputs.visionLatents,
    vision_noisy: { data: inputs.visionNoisy, shape: [inputs.visionLatents.shape[2]] },
  };
  const a = inputs.actions;
  if (a) {
    feeds.action_tokens = a.tokens;
    feeds.action_noisy = { data: a.noisy, shape: [a.noisy.length] };
    feeds.domain_id = { data: new BigInt64Array([BigInt(a.domainId)]), shape: [1] };
  } else if (actionDim !== undefined) {
    feeds.action_tokens = { data: new Float32Array(0), shape: [0, actionDim] };
    feeds.action_noisy = { data: new Float32Array(0), shape: [0] };
    feeds.domain_id = { data: new BigInt64Array([0n]), shape: [1] };
  }
  return feeds;
}

/** Text K/V of one prompt; `ids` and `positions` are copies, compared on every hit. */
interface TextEntry {
  readonly ids: BigInt64Array;
  readonly positions: Float32Array;
  readonly kv: Promise<Record<string, HostTensor<TensorData>>>;
}

function sameValues<T extends BigInt64Array | Float32Array>(a: T, b: T): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The denoiser over the converted transformer graphs: vision-only, and vision + actions when present. When the
 * model has `transformer_text` and the matching `transformer_gen*` graph, the text tower runs once per prompt
 * (cached by the identity of the `inputIds` array, which the sampler reuses every step) and each step runs
 * only the generator tower; otherwise each step runs the single graph.
 */
export class OrtDenoiser implements Denoiser {
  readonly #text: OrtSession | null;
  /** The one generator graph: the action variant when the model has actions (it serves vision requests too). */
  readonly #tower: Tower;
  readonly #pairMaxTokens: number;
  /** latent_patch_size: vision tokens are T · ⌈H/p⌉ · ⌈W/p⌉. */
  readonly #patch: number;
  readonly #cache = new Map<BigInt64Array, TextEntry>();
  #textRuns = 0;
  #pairRuns = 0;

  private constructor(text: OrtSession | null, tower: Tower, pairMaxTokens: number, patch: number) {
    this.#text = text;
    this.#tower = tower;
    this.#pairMaxTokens = pairMaxTokens;
    this.#patch = patch;
  }

  /**
   * Sessions: ONNX Runtime loads each session's weights on the device, so the denoiser opens as few graphs as
   * the model needs. With the split graphs: `transformer_text` plus one generator graph — the action one when
   * the model has actions (vision-only requests run it with zero action rows, the same numbers), else the
   * vision one. `pair: true` opens `transformer_gen_merged` in its place (converter 0.5.0): the same generator
   * with guidance pairing built in, reading the same weights, so it costs no second copy; it runs both guidance
   * passes of vision-only steps at once up to `pairMaxVisionTokens` (PAIR_MAX_VISION_TOKENS) vision tokens,
   * counted with `patchSize` (the config's latent_patch_size, default 2), and single passes otherwise.
   * `split: false` runs the single graphs even when the split ones are present (for comparison).
   */
  static async open(
    modelDir: string, manifest: Manifest,
    opts: { device: DeviceSpec; threads?: number; split?: boolean; pair?: boolean; pairMaxVisionTokens?: number; patchSize?: number },
  ): Promise<OrtDenoiser> {
    const opened: OrtSession[] = [];
    const create = async (g: ManifestGraph) => {
      const s = await OrtSession.create(path.join(modelDir, g.file), { device: opts.device, threads: opts.threads });
      opened.push(s);
      return s;
    };
    try {
      let text: OrtSession | null = null;
      let textOutputs: string[] = [];
      const t = opts.split === false ? undefined : manifest.graphs.transformer_text;
      if (t) {
        checkGraph('transformer_text', t, TEXT_INPUTS);
        textOutputs = t.outputs.map((o) => o.name);
        if (!textOutputs.includes('text_k.0')) throw new ModelManifestError('transformer_text', 'graph has no output text_k.0');
      }
      const tower = async (single: string, gen: string, inputs: readonly string[]): Promise<Tower> => {
        const g = manifest.graphs[gen];
        if (t && g) {
          const genInputs = [...textOutputs, ...inputs.filter((n) => n !== 'input_ids')];
          checkGraph(gen, g, genInputs);
          checkTextKv(gen, g, t, ['']);
          const session = await create(g);
          text ??= await create(t);
          return { session, graph: gen, actionDim: actionDimOf(g) };
        }
        const graph = checkGraph(single, manifest.graphs[single], inputs);
        return { session: await create(graph), graph: single, actionDim: actionDimOf(graph) };
      };
      const merged = async (): Promise<Tower> => {
        const name = 'transformer_gen_merged';
        const g = manifest.graphs[name];
        if (!t || !g) {
          throw new ModelManifestError(name, 'guidance pairing (PAIRED_GUIDANCE=1) needs transformer_text and transformer_gen_merged (converter 0.5.0): convert the checkpoint again');
        }
        const inputs = manifest.graphs.transformer_action ? ACTION_INPUTS : VISION_INPUTS;
        const uncond = ['uncond_positions', ...textOutputs.map((n) => `uncond_${n}`)];
        checkGraph(name, g, [...textOutputs, ...uncond, 'paired', ...inputs.filter((n) => n !== 'input_ids')]);
        checkTextKv(name, g, t, ['', 'uncond_']);
        const singleFeeds: Record<string, HostTensor<TensorData>> = { paired: { data: new BigInt64Array([0n]), shape: [1] } };
        for (const i of g.inputs) if (i.name.startsWith('uncond_')) singleFeeds[i.name] = emptyInput(i);
        const session = await create(g);
        text ??= await create(t);
        return { session, graph: name, actionDim: actionDimOf(g), singleFeeds };
      };
      const generator = opts.pair === true
        ? await merged()
        : manifest.graphs.transformer_action
          ? await tower('transformer_action', 'transformer_gen_action', ACTION_INPUTS)
          : await tower('transformer', 'transformer_gen', VISION_INPUTS);
      return new OrtDenoiser(text, generator, opts.pairMaxVisionTokens ?? PAIR_MAX_VISION_TOKENS, opts.patchSize ?? 2);
    } catch (err) {
      for (const s of opened) await s.release();
      throw err;
    }
  }

  get supportsActions(): boolean {
    return this.#tower.actionDim !== undefined;
  }

  /** The graphs this denoiser holds sessions of. */
  get graphs(): string[] {
    return [...(this.#text ? ['transformer_text'] : []), this.#tower.graph];
  }

  /** How many times the text graph has run (once per distinct prompt while cached). */
  get textRuns(): number {
    return this.#textRuns;
  }

  /** How many guidance pairs ran as one paired `transformer_gen_merged` run. */
  get pairRuns(): number {
    return this.#pairRuns;
  }

  async runPair(cond: DenoiserInputs, uncond: DenoiserInputs): Promise<readonly [DenoiserOutputs, DenoiserOutputs] | undefined> {
    const tower = this.#tower;
    if (!tower.singleFeeds || cond.actions || uncond.actions) return undefined;
    const [, , T, H, W] = cond.visionLatents.shape;
    if (T * Math.ceil(H / this.#patch) * Math.ceil(W / this.#patch) > this.#pairMaxTokens) return undefined;
    const same = cond.visionLatents.data === uncond.visionLatents.data && cond.visionNoisy === uncond.visionNoisy && cond.timestep === uncond.timestep;
    if (!same) return undefined;
    const [kv, ukv] = await Promise.all([this.#textKv(cond.inputIds, cond.positions), this.#textKv(uncond.inputIds, uncond.positions)]);
    const feeds: Record<string, HostTensor<TensorData>> = {
      ...kv,
      ...generatorFeeds(cond, tower.actionDim),
      uncond_positions: { data: uncond.positions, shape: [3, uncond.positions.length / 3] },
      paired: { data: new BigInt64Array([1n]), shape: [1] },
    };
    for (const [name, t] of Object.entries(ukv)) feeds[`uncond_${name}`] = t;
    const out = await tower.session.run(feeds);
    this.#pairRuns++;
    return [{ vision: out.vision_velocity as HostTensor }, { vision: out.uncond_vision_velocity as HostTensor }];
  }

  async run(inputs: DenoiserInputs): Promise<DenoiserOutputs> {
    const tower = this.#tower;
    if (inputs.actions && tower.actionDim === undefined) {
      throw new ModelManifestError('transformer_action', 'this model has no action graph (action_gen is off in its config)');
    }
    const feeds = generatorFeeds(inputs, tower.actionDim);
    if (tower.singleFeeds) Object.assign(feeds, tower.singleFeeds);
    if (this.#text) Object.assign(feeds, await this.#textKv(inputs.inputIds, inputs.positions));
    else feeds.input_ids = { data: inputs.inputIds, shape: [inputs.inputIds.length] };
    const out = await tower.session.run(feeds);
    const result: DenoiserOutputs = { vision: out.vision_velocity as HostTensor };
    return inputs.actions ? { ...result, action: out.action_velocity as HostTensor } : result;
  }

  /** Text K/V for these ids: cached per ids array (checked against its length, values and text positions), LRU. */
  async #textKv(ids: BigInt64Array, positions: Float32Array): Promise<Record<string, HostTensor<TensorData>>> {
    const L = ids.length;
    const textPositions = leadingColumns(positions, L);
    const hit = this.#cache.get(ids);
    this.#cache.delete(ids);
    if (hit && sameValues(hit.ids, ids) && sameValues(hit.positions, textPositions)) {
      this.#cache.set(ids, hit);
      return hit.kv;
    }
    const entry: TextEntry = { ids: ids.slice(), positions: textPositions, kv: this.#runText(ids, textPositions) };
    this.#cache.set(ids, entry);
    while (this.#cache.size > TEXT_CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    entry.kv.catch(() => {
      if (this.#cache.get(ids) === entry) this.#cache.delete(ids);
    });
    return entry.kv;
  }

  async #runText(ids: BigInt64Array, textPositions: Float32Array): Promise<Record<string, HostTensor<TensorData>>> {
    this.#textRuns++;
    const L = ids.length;
    return this.#text!.run({ input_ids: { data: ids.slice(), shape: [L] }, positions: { data: textPositions, shape: [3, L] } });
  }

  async release(): Promise<void> {
    this.#cache.clear();
    await this.#text?.release();
    await this.#tower.session.release();
  }
}
