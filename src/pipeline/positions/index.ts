export { leadingColumns, mropePositions, sequenceLength } from './mrope.js';
export type { MropeConfig, MropeSequence } from './mrope.js';
