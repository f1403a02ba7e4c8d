export { createTmpDir, type TmpDir, type TmpDirOptions } from './tmp.js';
export {
  DEFAULT_MEDIA_TOOLS,
  DEFAULT_STDERR_TAIL_BYTES,
  runTool,
  type MediaTools,
  type RunToolOptions,
  type RunToolResult,
} from './ffmpeg.js';
export {
  DEFAULT_MAX_INPUT_PIXELS,
  IMAGE_FORMATS,
  checkFrames,
  coverPlan,
  coverResize,
  decodeImage,
  encodeJpeg,
  fitWithin,
  fitWithinSize,
  resizeFrames,
  type CoverPlan,
  type DecodeImageOptions,
} from './image.js';
export {
  INPUT_DEMUXERS,
  MP4_ENCODER,
  decodeVideo,
  encodeMp4,
  evenSizeFilters,
  probeVideo,
  type DecodeVideoOptions,
  type EncodeMp4Options,
  type MediaToolOptions,
  type VideoInfo,
} from './video.js';
export { loadVision, type LoadVisionOptions, type LoadedVision } from './vision.js';
export { parseActions, type ParseActionsOptions } from './actions.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  fetchInput,
  type FetchInputOptions,
  type FetchedInput,
} from './fetch-input.js';
