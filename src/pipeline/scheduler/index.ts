export { flowSchedule, linspace, shiftSigma } from './sigmas.js';
export type { FlowSchedule, FlowScheduleOptions } from './sigmas.js';
export { UniPcScheduler, DEFAULT_UNIPC } from './unipc.js';
export type { UniPcOptions } from './unipc.js';
