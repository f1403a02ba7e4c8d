import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { convertCheckpoint, type ComputeDtype, type ConvertProgress } from '../convert/index.js';

const DTYPES: Record<string, ComputeDtype> = { fp32: 'float32', float32: 'float32', bf16: 'bfloat16', bfloat16: 'bfloat16', fp16: 'float16', float16: 'float16' };

export const CONVERT_USAGE = `Usage: cosmos3-serve convert --checkpoint <dir> --out <dir> [--dtype fp32|bf16|fp16] [--copy-weights] [--no-hash] [--unfused]

Converts a diffusers-layout Cosmos3 checkpoint (transformer/, vae/, text_tokenizer/, scheduler/) into ONNX
graphs plus manifest.json. --dtype defaults to bf16 (GPU); use fp32 for the CPU provider. Weights whose dtype
already matches are hard-linked from the checkpoint (same filesystem) instead of copied, unless --copy-weights.
--unfused spells RoPE, SiLU and residual+RMSNorm with elementwise ops instead of fused kernels (for comparison).`;

export interface ConvertCliOptions {
  readonly checkpoint: string;
  readonly out: string;
  readonly dtype: ComputeDtype;
  readonly link: boolean;
  readonly hash: boolean;
  readonly transformerGraphs: { readonly fused: boolean };
}

/** argv → typed options; throws a usage error naming the bad flag. */
export function parseConvertArgs(argv: readonly string[]): ConvertCliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      checkpoint: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string', default: 'bf16' },
      'copy-weights': { type: 'boolean', default: false },
      'no-hash': { type: 'boolean', default: false },
      unfused: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.checkpoint) throw new UsageError('--checkpoint <dir> is required');
  if (!values.out) throw new UsageError('--out <dir> is required');
  const dtype = DTYPES[values.dtype!];
  if (!dtype) throw new UsageError(`--dtype must be one of fp32, bf16, fp16 (got ${values.dtype})`);
  return { checkpoint: values.checkpoint, out: values.out, dtype, link: !values['copy-weights'], hash: !values['no-hash'], transformerGraphs: { fused: !values.unfused } };
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export async function runConvert(argv: readonly string[], io: { stderr: NodeJS.WritableStream; stdout: NodeJS.WritableStream }): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${CONVERT_USAGE}\n`);
    return 0;
  }
  let opts: ConvertCliOptions;
  try {
    opts = parseConvertArgs(argv);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${CONVERT_USAGE}\n`);
    return 2;
  }
  const bar = new cliProgress.SingleBar(
    { stream: io.stderr, format: ' {stage} [{bar}] {value}/{total} {item}', hideCursor: true, clearOnComplete: false, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  // not a terminal (docker logs, nohup, CI): plain lines, one per tenth of each stage, instead of a redrawn bar
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  let stage = '';
  let tenth = -1;
  const onProgress = (e: ConvertProgress): void => {
    if (e.stage === 'done') return;
    if (!tty) {
      if (e.stage !== stage) [stage, tenth] = [e.stage, -1];
      const t = e.total > 0 ? Math.floor((10 * e.done) / e.total) : 10;
      if (t > tenth) {
        tenth = t;
        io.stderr.write(`convert: ${e.stage} ${e.done}/${e.total}${e.item ? ` ${e.item}` : ''}\n`);
      }
      return;
    }
    if (e.stage !== stage) {
      if (stage) bar.stop();
      stage = e.stage;
      bar.start(e.total, e.done, { stage: e.stage.padEnd(7), item: '' });
    }
    bar.update(e.done, { item: e.item ?? '' });
  };
  const stopBar = () => {
    if (tty && stage) bar.stop();
  };
  try {
    const manifest = await convertCheckpoint({ ...opts, onProgress });
    stopBar();
    io.stdout.write(`converted ${opts.checkpoint} → ${opts.out} (${opts.dtype}): ${Object.keys(manifest.graphs).join(', ')}\n`);
    return 0;
  } catch (err) {
    stopBar();
    io.stderr.write(`convert failed: ${(err as Error).message}\n`);
    return 1;
  }
}
