export * from './protocol.js';
export type { CreateRunner, CreateRunnerOptions, JobRunner, RunHooks } from './runner.js';
export { checkCudaProvisioning, describeDevices } from './ort/cuda-check.js';
export { disableOrtTelemetry } from './ort/telemetry.js';
export { lockNativeCalls, nativeCallsInProgress } from './native-calls.js';
