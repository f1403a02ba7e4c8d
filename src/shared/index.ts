export * from './tensor.js';
export * from './assert.js';
export * from './modes.js';
export * from './job-spec.js';
export * from './log.js';
export * from './errors.js';
