export { patchGrid, latentFrameCount } from './patch-grid.js';
export type { PatchGrid } from './patch-grid.js';
export { normaliseLatents, denormaliseLatents } from './normalise.js';
export { rgbToSigned, signedToRgb } from './pixels.js';
export { fitFrameCount, leadingFrames, padFrames, cropLatent } from './frames.js';
