export * from './job.js';
export * from './store.js';
export * from './queue.js';
export * from './pool.js';
export * from './run-job.js';
