export * from './modes.js';
export * from './canvas.js';
export * from './schema.js';
export * from './load.js';
