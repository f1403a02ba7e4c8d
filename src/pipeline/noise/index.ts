export { Mt19937 } from './mt19937.js';
export { LegacyRandomState, toFloat32 } from './gaussian.js';
export { exactLog } from './exact-log.js';
