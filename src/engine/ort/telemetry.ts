/**
 * onnxruntime-node's Linux library (1.29) carries ONNX Runtime's 1DS telemetry client: when the first session
 * creates ORT's environment it writes `mat-debug-<pid>.log` and `.ses` into the temp folder, and it is built to
 * send events to Microsoft's collector. A self-hosted server does neither unless its operator asks:
 * ORT_DISABLE_TELEMETRY=1 is the default here, and an explicit value (e.g. 0) is kept.
 *
 * ORT reads the variable with getenv. A worker thread's `process.env` is its own copy, invisible to native
 * code, so this must run on the main thread before the inference workers start (the pool does); session.ts
 * runs it too, for sessions opened on the main thread (verify, benchmarks).
 */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env.ORT_DISABLE_TELEMETRY ??= '1';
}
