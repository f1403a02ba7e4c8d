import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint, type Manifest } from '../convert/index.js';
import { listCases, openCase, type GoldenCase } from './verify/fixture.js';
import { runTransformerCase, type CaseResult } from './verify/transformer-case.js';
import { runPipelineCase, runSchedulerCase } from './verify/pipeline-case.js';
import { runVaeCase } from './verify/vae-case.js';
import { UsageError } from './convert.js';

export const VERIFY_USAGE = `Usage: cosmos3-serve verify --fixture <dir> [--tolerance 1e-4] [--case <name> ...]

Converts the fixture's checkpoint (float32) to a temporary folder, runs every golden case the fixture holds
(transformer, VAE, scheduler, pipeline) on the CPU provider, prints one line per case with its relative L2
error, and exits 1 if any case is above the tolerance.`;

export interface VerifyContext {
  readonly fixture: string;
  readonly modelDir: string;
  readonly manifest: Manifest;
  readonly tolerance: number;
}

/** A kind of golden case, recognised by the tensors it holds (names vary between fixtures). */
export interface CaseKind {
  readonly kind: string;
  matches(c: GoldenCase): boolean;
  run(c: GoldenCase, ctx: VerifyContext): Promise<CaseResult[]>;
}

const caseKinds: CaseKind[] = [
  {
    kind: 'transformer',
    matches: (c) => c.has('out_vision_0') && c.has('input_ids'),
    run: (c, ctx) => runTransformerCase(c, ctx.modelDir, ctx.manifest, ctx.tolerance),
  },
  {
    kind: 'vae',
    matches: (c) => c.has('encode_in') || c.has('decode_in_raw'),
    run: (c, ctx) => runVaeCase(c, ctx.modelDir, ctx.manifest, ctx.tolerance),
  },
  {
    kind: 'scheduler',
    matches: (c) => c.tensorNames.some((n) => /_step0_v$/.test(n)) && c.tensorNames.some((n) => /_timesteps$/.test(n)),
    run: (c, ctx) => runSchedulerCase(c, ctx.fixture, ctx.tolerance),
  },
  {
    kind: 'pipeline',
    matches: (c) => c.has('initial_latents') && c.has('final_latents'),
    run: (c, ctx) => runPipelineCase(c, ctx.fixture, ctx.modelDir, ctx.manifest, ctx.tolerance),
  },
];

export interface VerifyLine {
  readonly caseName: string;
  readonly kind: string;
  readonly relErr: number;
  readonly worst: string;
  readonly ok: boolean;
  readonly error?: string;
}

/** Verify every case of a fixture; returns one line per case (the CLI prints them). */
export async function verifyFixture(fixture: string, opts: { tolerance: number; cases?: readonly string[]; onLine?: (l: VerifyLine) => void }): Promise<VerifyLine[]> {
  const modelDir = await mkdtemp(path.join(os.tmpdir(), 'c3s-verify-'));
  const keepOnSignal = removeOnSignal(modelDir);
  try {
    // golden cases need the graphs only, not what the server reads besides them
    const manifest = await convertCheckpoint({ checkpoint: fixture, out: modelDir, dtype: 'float32', hash: false, servable: false });
    const ctx: VerifyContext = { fixture, modelDir, manifest, tolerance: opts.tolerance };
    const names = opts.cases?.length ? opts.cases : await listCases(fixture);
    const lines: VerifyLine[] = [];
    for (const name of names) {
      let c: Awaited<ReturnType<typeof openCase>> | undefined;
      let line: VerifyLine;
      try {
        const opened = await openCase(fixture, name); // a damaged case is its own FAIL line; the others still run
        c = opened;
        const kind = caseKinds.find((k) => k.matches(opened));
        if (!kind) {
          line = { caseName: name, kind: 'unknown', relErr: NaN, worst: '', ok: false, error: 'no verifier recognises this case (its tensors match no known case kind)' };
        } else {
          const results = await kind.run(opened, ctx);
          // exact checks (tolerance 0) only show when they fail; otherwise the largest float error is reported
          const score = (r: CaseResult) => (r.tolerance > 0 ? r.relErr / r.tolerance : r.relErr > 0 ? Infinity : -1);
          const worst = results.reduce((a, b) => (score(b) > score(a) ? b : a));
          line = { caseName: name, kind: kind.kind, relErr: worst.relErr, worst: worst.name, ok: results.every((r) => r.relErr <= r.tolerance) };
        }
      } catch (err) {
        line = { caseName: name, kind: 'error', relErr: NaN, worst: '', ok: false, error: (err as Error).message };
      } finally {
        await c?.close();
      }
      lines.push(line);
      opts.onLine?.(line);
    }
    return lines;
  } finally {
    keepOnSignal();
    await rm(modelDir, { recursive: true, force: true });
  }
}

/**
 * Until the returned function is called, SIGINT or SIGTERM removes `dir` and ends the process with 128 + the
 * signal's number (a finally block does not run when a signal ends the process).
 */
function removeOnSignal(dir: string): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(128 + (os.constants.signals[signal] ?? 0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export function formatLine(l: VerifyLine): string {
  if (l.error) return `FAIL ${l.caseName.padEnd(22)} ${l.kind.padEnd(12)} ${l.error}`;
  return `${l.ok ? 'ok  ' : 'FAIL'} ${l.caseName.padEnd(22)} ${l.kind.padEnd(12)} rel L2 ${l.relErr.toExponential(2)} (worst: ${l.worst})`;
}

export async function runVerify(argv: readonly string[], io: { stderr: NodeJS.WritableStream; stdout: NodeJS.WritableStream }): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${VERIFY_USAGE}\n`);
    return 0;
  }
  let fixture: string;
  let tolerance: number;
  let cases: string[];
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { fixture: { type: 'string' }, tolerance: { type: 'string', default: '1e-4' }, case: { type: 'string', multiple: true } },
      strict: true,
    });
    if (!values.fixture) throw new UsageError('--fixture <dir> is required');
    tolerance = Number(values.tolerance);
    if (!(tolerance > 0)) throw new UsageError(`--tolerance must be a positive number (got ${values.tolerance})`);
    fixture = path.resolve(values.fixture);
    cases = values.case ?? [];
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${VERIFY_USAGE}\n`);
    return 2;
  }
  try {
    const lines = await verifyFixture(fixture, { tolerance, cases, onLine: (l) => io.stdout.write(formatLine(l) + '\n') });
    if (lines.length === 0) {
      io.stderr.write(`verify failed: ${fixture} holds no golden cases (expected <case>.json + <case>.safetensors pairs listed in its manifest.json)\n`);
      return 1;
    }
    const failed = lines.filter((l) => !l.ok).length;
    io.stdout.write(`${lines.length - failed} passed, ${failed} failed\n`);
    return failed === 0 ? 0 : 1;
  } catch (err) {
    io.stderr.write(`verify failed: ${(err as Error).message}\n`);
    return 1;
  }
}
