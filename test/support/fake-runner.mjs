// A test double for the inference runner (engine/runner.ts contract), loaded by the worker from its file URL.
// Never referenced by src/ defaults. Behaviour comes from workerData options (createRunner's `options`) and from
// bracketed directives in the prompt, e.g. "a cat [steps=20] [ms=10] [crash=exit] [at=3]":
//   [steps=N]        steps to run (default: spec.numSteps)
//   [ms=N]           milliseconds per step, spent blocking the thread like ONNX Runtime's run() (default options.stepMs ?? 2)
//   [crash=exit|throw] at step [at=N] (default 1): process.exit(3) in the thread, or an uncaught exception
//   [fail=CODE]      at step [at=N]: throw a catalogue error with that code (unknown codes: a plain Error)
//   [deaf]           never report progress (so never sees a cancel) and block for [ms] × [steps]
//   [native=N]       at step [at=N] (default 1): block N ms counted as a native call (engine/native-calls.ts), as an
//                    ONNX Runtime run is: the pool must not terminate the thread meanwhile
// Options: { stepMs, warmupMs, failWarmup, width, height } (frames are width × height, default 16 × 16).

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Block this thread (no event loop turns), as a native run() would. */
function block(ms) {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

function directives(prompt) {
  const out = {};
  for (const m of prompt.matchAll(/\[([a-z_]+)(?:=([^\]]*))?\]/g)) out[m[1]] = m[2] ?? true;
  return out;
}

function frames(count, width, height, seed) {
  const data = new Uint8Array(count * width * height * 3);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    data[i] = x & 255;
  }
  return { data, frames: count, height, width };
}

export async function createRunner({ modelDir, device, options = {} }) {
  let closed = false;
  return {
    async warmup() {
      block(Number(options.warmupMs ?? 0));
      if (options.failWarmup) throw new Error(`fake warmup failure on ${device} (${modelDir})`);
    },
    async run(spec, input, hooks) {
      if (closed) throw new Error('runner closed');
      const d = directives(spec.prompt);
      const steps = d.steps !== undefined ? Number(d.steps) : spec.numSteps;
      const ms = d.ms !== undefined ? Number(d.ms) : Number(options.stepMs ?? 2);
      const at = d.at !== undefined ? Number(d.at) : 1;
      const t0 = performance.now();
      if (d.deaf) {
        block(ms * steps);
      } else {
        hooks.onProgress({ stage: 'sampling', step: 0, totalSteps: steps });
        for (let step = 1; step <= steps; step++) {
          block(ms);
          if (step === at && d.native !== undefined) {
            const { nativeCall } = await import('../../dist/src/engine/native-calls.js');
            await nativeCall(async () => block(Number(d.native)));
          }
          if (step === at && d.crash === 'exit') process.exit(3);
          if (step === at && d.crash === 'throw') {
            setImmediate(() => {
              throw new Error('fake runner crashed');
            });
            await new Promise(() => {});
          }
          if (step === at && d.fail !== undefined) {
            const shared = await import('../../dist/src/shared/index.js');
            const factory = shared.ERROR_CATALOGUE.find((f) => shared.errorCode(f) === d.fail);
            if (factory === undefined) throw new Error(`fake failure ${d.fail}`);
            const err = new factory('prompt', 'fake failure');
            err.field = 'prompt';
            throw err;
          }
          if (hooks.timings) hooks.timings.sampling = (performance.now() - t0) / 1000; // as a real runner: so far
          hooks.onProgress({ stage: 'sampling', step, totalSteps: steps });
        }
      }
      const width = Number(options.width ?? 16);
      const height = Number(options.height ?? 16);
      const echo = spec.mode === 'inverse_dynamics' || spec.mode === 'policy';
      const out = echo && input.frames ? input.frames : frames(spec.numFrames, width, height, spec.seed);
      const result = { frames: out, timings: { sampling: (performance.now() - t0) / 1000 } };
      if (echo && spec.action) {
        result.actions = Array.from({ length: spec.action.chunkSize }, (_, i) =>
          Array.from({ length: spec.action.rawDim }, (_, j) => ((spec.seed + i * 31 + j * 7) % 1000) / 1000),
        );
      }
      return result;
    },
    async close() {
      closed = true;
    },
  };
}
