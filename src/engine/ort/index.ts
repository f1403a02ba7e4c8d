export * from './session.js';
export * from './cuda-check.js';
