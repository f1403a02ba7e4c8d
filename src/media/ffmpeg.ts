import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { MediaToolError } from '../shared/index.js';

/**
 * The one place that starts ffmpeg/ffprobe. Each run owns its child: stdin is fed with backpressure,
 * stdout is collected up to a cap, stderr keeps only its tail, and an abort (or any failure on our side)
 * SIGKILLs the child and waits for it to exit before the promise settles.
 */

/** Executables to run: names looked up on PATH, or absolute paths. */
export interface MediaTools {
  readonly ffmpeg: string;
  readonly ffprobe: string;
}

export const DEFAULT_MEDIA_TOOLS: MediaTools = Object.freeze({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' });

export const DEFAULT_STDERR_TAIL_BYTES = 8 * 1024;

export interface RunToolOptions {
  /** Executable (e.g. `tools.ffmpeg`). */
  readonly binary: string;
  readonly args: readonly string[];
  /** Aborting kills the child (SIGKILL), waits for its exit, then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Written to stdin chunk by chunk, waiting for 'drain' whenever write() returns false; stdin ends after the last
   *  chunk. Without it stdin is not connected. */
  readonly stdin?: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Collect stdout up to this many bytes; more kills the child and rejects. Without it stdout is discarded. */
  readonly maxStdoutBytes?: number;
  /** With `maxStdoutBytes`: hand stdout over chunk by chunk instead of collecting it (the result's stdout is then
   *  empty). stdout is paused while a returned promise is pending; a rejection kills the child and rejects. */
  readonly onStdout?: (chunk: Buffer) => Promise<void> | void;
  /** How much of stderr to keep (its tail) for error messages. */
  readonly stderrTailBytes?: number;
}

export interface RunToolResult {
  /** Collected stdout (empty when not collected). */
  readonly stdout: Buffer;
  /** The last `stderrTailBytes` of stderr. */
  readonly stderrTail: string;
  /** How many times the stdin feeder waited for 'drain' (backpressure observed). */
  readonly drainWaits: number;
}

type Exit = { readonly code: number | null; readonly signal: NodeJS.Signals | null } | { readonly error: Error };

/**
 * Run a tool to completion. Non-zero exit → MediaToolError carrying the stderr tail and `exitCode` (null when
 * killed by a signal); a tool that cannot start → MediaToolError without `exitCode`.
 */
export async function runTool(options: RunToolOptions): Promise<RunToolResult> {
  const { binary, args, signal } = options;
  signal?.throwIfAborted();
  const maxStdout = options.maxStdoutBytes;
  if (options.onStdout && maxStdout === undefined) throw new RangeError('runTool: onStdout needs maxStdoutBytes (without it stdout is not read)');
  const tail = new TailBuffer(options.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES);

  const child = spawn(binary, [...args], {
    stdio: [options.stdin ? 'pipe' : 'ignore', maxStdout !== undefined ? 'pipe' : 'ignore', 'pipe'],
    windowsHide: true,
  });
  const exited = new Promise<Exit>((resolve) => {
    // `on`, not `once`: a late 'error' (e.g. a failed kill) must still have a listener.
    child.on('error', (error) => resolve({ error }));
    child.on('close', (code, sig) => resolve({ code, signal: sig }));
  });

  // The first reason we stopped the child ourselves (abort, stdout overflow, stdin source failure, sink failure).
  let failure: unknown;
  let stopped = (): void => {};
  const stopping = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (reason: unknown): void => {
    failure ??= reason;
    stopped();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onAbort = (): void => stop(signal?.reason ?? new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });

  const stdoutChunks: Buffer[] = [];
  let stdoutBytes = 0;
  const sink = options.onStdout;
  /** The sink's chain of chunks (settled before the result is returned) and how many wait in it. */
  let sinking: Promise<void> = Promise.resolve();
  let waiting = 0;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (failure !== undefined || maxStdout === undefined) return;
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdout) {
      stop(new MediaToolError(binary, `output exceeded the limit of ${maxStdout} bytes`));
      return;
    }
    if (!sink) {
      stdoutChunks.push(chunk);
      return;
    }
    // one chunk at a time, in order: chained, and stdout paused while any is waiting so the child waits on the
    // pipe. The pause is only backpressure, not the ordering: Node resumes a child's stdout itself when the
    // child exits (what is left in the pipe then arrives at once)
    waiting++;
    child.stdout?.pause();
    sinking = sinking
      .then(() => (failure === undefined ? sink(chunk) : undefined))
      .then(
        () => {
          if (--waiting === 0) child.stdout?.resume();
        },
        (err: unknown) => {
          waiting--;
          stop(err);
          child.stdout?.resume(); // the stream must end for 'close' to fire once the killed child is gone
        },
      );
  });
  child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));

  let drainWaits = 0;
  const feeding =
    options.stdin && child.stdin
      ? feedStdin(child.stdin, options.stdin, exited, () => failure !== undefined, () => drainWaits++).catch(stop)
      : Promise.resolve();

  try {
    const [exit] = await Promise.all([exited, feeding]);
    // the sink's last chunks, unless we stopped: an abort does not wait for a sink still working (what it does
    // after that is ignored)
    await Promise.race([sinking, stopping]);
    if (failure !== undefined) throw failure;
    if ('error' in exit) {
      const code = (exit.error as NodeJS.ErrnoException).code;
      const hint = code === 'ENOENT' ? ' (not found: is it installed and on PATH?)' : '';
      throw new MediaToolError(binary, `could not start${hint}: ${exit.error.message}`, { cause: exit.error });
    }
    if (exit.code !== 0) {
      const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
      const err = new MediaToolError(binary, `${how}: ${tail.text().trim() || '(no stderr)'}`);
      throw Object.assign(err, { exitCode: exit.code });
    }
    return { stdout: sink ? Buffer.alloc(0) : Buffer.concat(stdoutChunks, Math.min(stdoutBytes, maxStdout ?? 0)), stderrTail: tail.text(), drainWaits };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/**
 * Write every chunk, awaiting 'drain' when write() returns false; stop early when the child is gone or we are
 * stopping. Write errors (EPIPE when the child exits without reading everything) are left to the exit status:
 * a tool that exits 0 chose to stop reading.
 */
async function feedStdin(
  stdin: Writable,
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  exited: Promise<Exit>,
  stopping: () => boolean,
  onDrainWait: () => void,
): Promise<void> {
  let broken = false;
  const onError = (): void => {
    broken = true;
  };
  stdin.on('error', onError);
  try {
    for await (const chunk of source) {
      if (broken || stopping() || stdin.destroyed) break;
      if (!stdin.write(chunk)) {
        onDrainWait();
        await Promise.race([waitDrain(stdin), exited]);
      }
    }
  } finally {
    stdin.end();
  }
}

function waitDrain(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(limit: number) {
    this.#limit = Math.max(0, limit);
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes > 2 * this.#limit) this.#compact();
  }

  text(): string {
    this.#compact();
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  #compact(): void {
    if (this.#bytes <= this.#limit) return;
    const all = Buffer.concat(this.#chunks);
    const kept = all.subarray(all.length - this.#limit);
    this.#chunks = [Buffer.from(kept)];
    this.#bytes = kept.length;
  }
}
