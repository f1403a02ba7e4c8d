import * as ort from 'onnxruntime-node';
import type { HostTensor, TensorData } from '../../shared/index.js';
import { disableOrtTelemetry } from './telemetry.js';
import { nativeCall } from '../native-calls.js';

/** Where a session runs: 'cpu' or 'cuda:<n>'. */
export type DeviceSpec = 'cpu' | `cuda:${number}`;

export interface SessionOptions {
  readonly device: DeviceSpec;
  /** CPU EP intra-op threads (0 = ORT default). */
  readonly threads?: number;
  readonly graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Record ONNX Runtime's per-node profile; written to `<prefix>_<time>.json` by endProfiling(). */
  readonly profilePrefix?: string;
}

/**
 * float16 data as Uint16Array on every runtime. onnxruntime-common stores float16 tensor data as a Float16Array
 * where the runtime has that type (Node.js 24) and converts Uint16Array data to it, but the onnxruntime-node
 * 1.29 binding reads a Float16Array's byte length as 0 and refuses the input ("not enough space: expected N,
 * got 0"; microsoft/onnxruntime#32323). onnxruntime-common fills its type table once, at the first Tensor
 * it makes: making that Tensor while Float16Array is hidden keeps float16 in Uint16Array for the process,
 * both ways (inputs we feed, outputs we read back). This module is the only importer of onnxruntime-node.
 */
function keepFloat16AsUint16(): void {
  const g = globalThis as { Float16Array?: unknown };
  const saved = g.Float16Array;
  if (saved !== undefined) g.Float16Array = undefined;
  try {
    new ort.Tensor('float32', new Float32Array(1), [1]);
  } finally {
    if (saved !== undefined) g.Float16Array = saved;
  }
  if (!(new ort.Tensor('float16', new Uint16Array(1), [1]).data instanceof Uint16Array)) {
    throw new Error('onnxruntime-common keeps float16 tensors as Float16Array, which onnxruntime-node 1.29 cannot read');
  }
}
keepFloat16AsUint16();
disableOrtTelemetry();

function logLevel(): 0 | 1 | 2 | 3 | 4 {
  const v = Number(process.env.C3S_ORT_LOG_LEVEL ?? 3);
  return (v >= 0 && v <= 4 ? Math.trunc(v) : 3) as 0 | 1 | 2 | 3 | 4;
}

type OrtDtype = 'float32' | 'float16' | 'int64' | 'uint8';

/** One table from typed-array class to ORT tensor type; anything else is refused. */
function ortType(data: TensorData): OrtDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError('unsupported tensor data type');
}

/**
 * A thin owner of one ORT InferenceSession: checks input names at the edge, converts HostTensor in and out,
 * and releases explicitly. run() blocks the calling thread while ORT computes: call it from a worker.
 */
export class OrtSession {
  readonly #session: ort.InferenceSession;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
  }

  static async create(modelFile: string, opts: SessionOptions): Promise<OrtSession> {
    const providers: ort.InferenceSession.ExecutionProviderConfig[] = opts.device === 'cpu'
      ? ['cpu']
      : [{ name: 'cuda', deviceId: Number(opts.device.slice(5)) }];
    const session = await nativeCall(() => ort.InferenceSession.create(modelFile, {
      executionProviders: providers,
      graphOptimizationLevel: opts.graphOptimization ?? 'all',
      intraOpNumThreads: opts.threads ?? 0,
      // C3S_ORT_LOG_LEVEL=1 shows node placement (e.g. nodes that fell back to the CPU provider)
      logSeverityLevel: logLevel(),
      ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
    }));
    return new OrtSession(session);
  }

  async run(feeds: Record<string, HostTensor<TensorData>>): Promise<Record<string, HostTensor<TensorData>>> {
    for (const name of this.inputNames) {
      if (!(name in feeds)) throw new TypeError(`OrtSession.run: input '${name}' is missing`);
    }
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (!this.inputNames.includes(name)) throw new TypeError(`OrtSession.run: '${name}' is not an input of this graph`);
      ortFeeds[name] = new ort.Tensor(ortType(t.data), t.data as never, t.shape as number[]);
    }
    const out = await nativeCall(() => this.#session.run(ortFeeds));
    const result: Record<string, HostTensor<TensorData>> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { data: t.data as TensorData, shape: [...t.dims] };
      t.dispose?.();
    }
    return result;
  }

  /** Write the profile of a session created with `profilePrefix` (ORT names the file). */
  endProfiling(): void {
    this.#session.endProfiling();
  }

  async release(): Promise<void> {
    await nativeCall(() => this.#session.release());
  }
}
