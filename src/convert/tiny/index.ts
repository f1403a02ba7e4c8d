export { generateTinyCheckpoint } from './generate.js';
export { ensureTinyModel } from './ensure.js';
