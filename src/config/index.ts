export * from './modes.js';
export * from './canvas.js';
