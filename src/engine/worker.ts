import { parentPort, workerData } from 'node:worker_threads';
import { JobCancelledError, toWireError, type ConditioningInput, type JobProgress, type JobSpec } from '../shared/index.js';
import { setNativeCallGuard, shareNativeCallCount } from './native-calls.js';
import { CANCEL_SLOT, NATIVE_CALLS_SLOT, transferableBuffer, unreachable, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import type { CreateRunner, JobRunner } from './runner.js';

/**
 * worker_threads entry: one per device. Loads the runner module, warms it up, says `ready`, then runs jobs one
 * at a time. A failure to start is thrown (the pool sees the worker's 'error' and exit); a job's failure is an
 * `error` message. Fetching, decoding and encoding media stay on the main side.
 */

const CANCEL_POLL_MS = 20;

if (parentPort === null) throw new Error('engine/worker.ts must run as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const cancelFlag = new Int32Array(init.cancel);
shareNativeCallCount(cancelFlag, NATIVE_CALLS_SLOT);

const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

const mod = (await import(init.runnerModule)) as { createRunner?: CreateRunner };
if (typeof mod.createRunner !== 'function') {
  throw new TypeError(`runner module ${init.runnerModule} does not export createRunner`);
}
const runner: JobRunner = await mod.createRunner({
  modelDir: init.modelDir,
  device: init.device,
  ...(init.runnerOptions ? { options: init.runnerOptions } : {}),
});
await runner.warmup();

/** Run numbers in the order runs arrive; main counts the same way when it posts them. */
let runCount = 0;
let queue: Promise<void> = Promise.resolve();

async function runJob(jobId: string, spec: JobSpec, input: ConditioningInput, runNumber: number): Promise<void> {
  const controller = new AbortController();
  const check = (): void => {
    if (!controller.signal.aborted && Atomics.load(cancelFlag, CANCEL_SLOT) === runNumber) {
      controller.abort(new JobCancelledError(jobId));
    }
  };
  const poll = setInterval(check, CANCEL_POLL_MS);
  poll.unref();
  // a cancelled job starts no further ONNX Runtime run: it stops at the next one, not only at the next step
  setNativeCallGuard(() => {
    check();
    controller.signal.throwIfAborted();
  });
  const timings: Record<string, number> = {};
  try {
    check();
    controller.signal.throwIfAborted();
    const result = await runner.run(spec, input, {
      signal: controller.signal,
      timings,
      onProgress(progress: JobProgress) {
        post({ type: 'progress', jobId, progress });
        check();
        controller.signal.throwIfAborted();
      },
    });
    const buffer = transferableBuffer(result.frames.data);
    post({ type: 'result', jobId, result }, buffer ? [buffer] : []);
  } catch (err) {
    const error = controller.signal.aborted ? toWireError(new JobCancelledError(jobId)) : toWireError(err);
    post({ type: 'error', jobId, error, timings });
  } finally {
    clearInterval(poll);
    setNativeCallGuard(undefined);
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'run': {
      const runNumber = ++runCount;
      queue = queue.then(() => runJob(msg.jobId, msg.spec, msg.input, runNumber));
      return;
    }
    case 'shutdown':
      queue = queue
        .then(() => runner.close())
        .catch(() => undefined)
        .finally(() => port.close());
      return;
    default:
      unreachable(msg);
  }
});

post({ type: 'ready' });
