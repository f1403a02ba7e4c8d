import { AttributeType, ModelProto, OnnxDataType, ONNX_DTYPE_BYTES, type OnnxDtype } from './proto.js';

export type Dim = number | string;

/** Where an initializer's bytes live outside the model file (ONNX external data). */
export interface ExternalRef {
  /** Path relative to the model file's folder. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

/** Attribute values: integers → INT(S), `float()`-wrapped → FLOAT(S), strings → STRING, tensors → TENSOR, `graph()` → GRAPH. */
export type AttrValue = number | bigint | string | readonly number[] | FloatAttr | FloatsAttr | TensorAttr | GraphAttr;
interface FloatAttr { readonly kind: 'float'; readonly value: number }
interface FloatsAttr { readonly kind: 'floats'; readonly value: readonly number[] }
interface TensorAttr { readonly kind: 'tensor'; readonly dtype: OnnxDtype; readonly dims: readonly number[]; readonly data: Uint8Array }
interface GraphAttr { readonly kind: 'graph'; readonly graph: object }

export const float = (value: number): FloatAttr => ({ kind: 'float', value });
export const floats = (value: readonly number[]): FloatsAttr => ({ kind: 'floats', value });
export const tensorAttr = (dtype: OnnxDtype, dims: readonly number[], data: Uint8Array): TensorAttr => ({ kind: 'tensor', dtype, dims, data });
/** A subgraph attribute (Loop `body`, If branches): the finished child builder, serialized when the node is added. */
export const graph = (body: GraphBuilder): GraphAttr => ({ kind: 'graph', graph: body.graphProto() });

export interface NodeOptions {
  readonly domain?: string;
  /** Number of outputs (default 1); ignored when `outputNames` is given. */
  readonly outputs?: number;
  readonly outputNames?: readonly string[];
  readonly name?: string;
}

interface ValueInfo { readonly name: string; readonly dtype: OnnxDtype; readonly dims: readonly Dim[] }

/**
 * A typed, minimal ONNX graph builder: values are named by strings, every helper returns output names.
 * `subgraph()` gives a child builder for a control-flow body: its value names come from the root's counters
 * under the child's prefix (no collisions with the outer graph), and its initializers and constants are put in
 * the root graph, which the body reads by name from the outer scope (ONNX allows it; weights stay shared).
 */
export class GraphBuilder {
  readonly name: string;
  readonly #root: GraphBuilder | null;
  readonly #nodes: object[] = [];
  readonly #initializers: object[] = [];
  readonly #initNames = new Set<string>();
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #constCache = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  readonly #domains = new Set<string>();

  constructor(name: string, root: GraphBuilder | null = null) {
    this.name = name;
    this.#root = root;
  }

  /** A child builder for a subgraph body; `name` prefixes its fresh value names. */
  subgraph(name: string): GraphBuilder {
    const root = this.#root ?? this;
    return new GraphBuilder(root.fresh(name), root);
  }

  /** A fresh value name with a readable prefix (unique across the root graph and all its subgraphs). */
  fresh(prefix: string): string {
    if (this.#root) return this.#root.fresh(`${this.name}/${prefix}`);
    const n = this.#counters.get(prefix) ?? 0;
    this.#counters.set(prefix, n + 1);
    return n === 0 ? prefix : `${prefix}_${n}`;
  }

  input(name: string, dtype: OnnxDtype, dims: readonly Dim[]): string {
    this.#inputs.push({ name, dtype, dims });
    return name;
  }

  /** Declare `value` as a graph output named `name` (an Identity is added when the names differ). */
  output(value: string, name: string, dtype: OnnxDtype, dims: readonly Dim[]): void {
    if (value !== name) this.node('Identity', [value], {}, { outputNames: [name] });
    this.#outputs.push({ name, dtype, dims });
  }

  /** An initializer with inline bytes or an external-data reference. */
  initializer(name: string, dtype: OnnxDtype, dims: readonly number[], data: Uint8Array | ExternalRef): string {
    if (this.#root) return this.#root.initializer(name, dtype, dims, data);
    if (this.#initNames.has(name)) throw new Error(`GraphBuilder: initializer ${name} defined twice`);
    const expected = dims.reduce((a, b) => a * b, 1) * ONNX_DTYPE_BYTES[dtype];
    const length = data instanceof Uint8Array ? data.byteLength : data.length;
    if (length !== expected) throw new RangeError(`GraphBuilder: initializer ${name} has ${length} bytes, ${dtype}[${dims.join(',')}] needs ${expected}`);
    this.#initNames.add(name);
    const base = { name, dataType: OnnxDataType[dtype], dims };
    if (data instanceof Uint8Array) {
      this.#initializers.push({ ...base, rawData: data });
    } else {
      this.#initializers.push({
        ...base,
        dataLocation: 1,
        externalData: [
          { key: 'location', value: data.location },
          { key: 'offset', value: String(data.offset) },
          { key: 'length', value: String(data.length) },
        ],
      });
    }
    return name;
  }

  /** A small constant initializer (deduplicated by value). */
  constant(values: ArrayLike<number> | ArrayLike<bigint>, dtype: OnnxDtype, dims: readonly number[]): string {
    if (this.#root) return this.#root.constant(values, dtype, dims);
    const bytes = encodeValues(values, dtype);
    const key = `${dtype}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
    const hit = this.#constCache.get(key);
    if (hit) return hit;
    const name = this.initializer(this.fresh('const'), dtype, dims, bytes);
    this.#constCache.set(key, name);
    return name;
  }

  /** Whether an initializer of this name exists (in the root graph). */
  hasInitializer(name: string): boolean {
    return this.#root ? this.#root.hasInitializer(name) : this.#initNames.has(name);
  }

  /** Shorthands for constants: int64 vector and float scalar/vector. */
  i64(values: readonly number[]): string {
    return this.constant(values.map((v) => BigInt(v)), 'int64', [values.length]);
  }
  i64Scalar(value: number): string {
    return this.constant([BigInt(value)], 'int64', []);
  }
  scalar(value: number, dtype: OnnxDtype = 'float32'): string {
    return this.constant([value], dtype, []);
  }

  /** Add a node; returns its output names. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): string[] {
    const outputs = opts.outputNames ? [...opts.outputNames] : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    if (opts.domain) (this.#root ?? this).#domains.add(opts.domain);
    this.#nodes.push({
      name: opts.name ?? this.fresh(`n_${opType}`),
      opType,
      domain: opts.domain ?? '',
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([name, v]) => encodeAttr(name, v)),
    });
    return outputs;
  }

  /** Single-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): string {
    return this.node(opType, inputs, attrs, opts)[0];
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  /** This graph as a GraphProto object (a subgraph's initializers live in its root). */
  graphProto(): object {
    return {
      name: this.name,
      node: this.#nodes,
      initializer: this.#initializers,
      input: this.#inputs.map(valueInfo),
      output: this.#outputs.map(valueInfo),
    };
  }

  /** Serialize to ONNX bytes. `opsets` maps domain → version; domains used by nodes must be listed. */
  serialize(opsets: Readonly<Record<string, number>>, meta: { producerVersion: string; metadata?: Record<string, string> }): Uint8Array {
    if (this.#root) throw new Error(`GraphBuilder: ${this.name} is a subgraph; serialize its root`);
    for (const d of this.#domains) {
      if (!(d in opsets)) throw new Error(`GraphBuilder: domain ${d} used but not in opsets`);
    }
    const model = {
      irVersion: 10,
      producerName: 'cosmos3-serve',
      producerVersion: meta.producerVersion,
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: this.graphProto(),
    };
    const err = ModelProto.verify(model);
    if (err) throw new Error(`GraphBuilder: invalid model: ${err}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }

  get inputs(): readonly ValueInfo[] {
    return this.#inputs;
  }
  get outputs(): readonly ValueInfo[] {
    return this.#outputs;
  }
}

function valueInfo(v: ValueInfo): object {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: OnnxDataType[v.dtype],
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encodeAttr(name: string, v: AttrValue): object {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError(`attribute ${name}: use float() for the non-integer ${v}`);
    return { name, type: AttributeType.INT, i: v };
  }
  if (typeof v === 'bigint') return { name, type: AttributeType.INT, i: v.toString() };
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) {
    if (!v.every((x) => Number.isInteger(x))) throw new TypeError(`attribute ${name}: use floats() for non-integer lists`);
    return { name, type: AttributeType.INTS, ints: v };
  }
  const t = v as FloatAttr | FloatsAttr | TensorAttr | GraphAttr;
  switch (t.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: t.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: t.value };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: { dataType: OnnxDataType[t.dtype], dims: t.dims, rawData: t.data } };
    case 'graph':
      return { name, type: AttributeType.GRAPH, g: t.graph };
  }
}

/** Encode numbers as little-endian bytes of an ONNX dtype. */
export function encodeValues(values: ArrayLike<number> | ArrayLike<bigint>, dtype: OnnxDtype): Uint8Array {
  const n = values.length;
  const buf = new ArrayBuffer(n * ONNX_DTYPE_BYTES[dtype]);
  const view = new DataView(buf);
  for (let i = 0; i < n; i++) {
    const x = values[i];
    switch (dtype) {
      case 'float32': view.setFloat32(i * 4, Number(x), true); break;
      case 'float64': view.setFloat64(i * 8, Number(x), true); break;
      case 'int64': view.setBigInt64(i * 8, BigInt(x), true); break;
      case 'int32': view.setInt32(i * 4, Number(x), true); break;
      case 'uint8': case 'bool': view.setUint8(i, Number(x)); break;
      case 'int8': view.setInt8(i, Number(x)); break;
      default: throw new TypeError(`encodeValues: ${dtype} constants are not supported; build them in float32 and Cast`);
    }
  }
  return new Uint8Array(buf);
}
