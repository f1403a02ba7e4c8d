export { generateTinyCheckpoint, tinyFingerprint } from './generate.js';
export { ensureTinyModel } from './ensure.js';
