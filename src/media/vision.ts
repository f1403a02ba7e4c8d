import sharp from 'sharp';
import { InputUnreadableError, withField, type RgbFrames } from '../shared/index.js';
import { decodeImage, resizeFrames } from './image.js';
import { decodeVideo, probeVideo, type MediaToolOptions } from './video.js';

export interface LoadVisionOptions extends MediaToolOptions {
  /** Frames to keep from a video (an image always gives 1). */
  readonly maxFrames: number;
  /** Output size from the source's display size; omitted: native size. Videos are scaled by ffmpeg while
   *  decoding, images by sharp (both bicubic). */
  readonly targetSize?: (width: number, height: number) => { readonly width: number; readonly height: number };
  readonly maxPixels?: number;
  /** Applied to every frame after `targetSize` (a video's frame by frame as they are decoded: see decodeVideo). */
  readonly mapFrame?: (frame: RgbFrames) => Promise<RgbFrames>;
}

export interface LoadedVision {
  readonly kind: 'image' | 'video';
  readonly frames: RgbFrames;
  /** Display size of the input before any resize. */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** Frame rate of a video input. */
  readonly fps?: number;
}

/**
 * Load a vision input that may be an image or a video, decided by content, never by file name: if sharp
 * recognises an image header it is decoded as an image, otherwise ffprobe must find a video stream.
 * Neither → InputUnreadableError naming `field` (400).
 */
export async function loadVision(file: string, field: string, options: LoadVisionOptions): Promise<LoadedVision> {
  options.signal?.throwIfAborted();
  if (await looksLikeImage(file)) {
    const image = await decodeImage(file, field, { maxPixels: options.maxPixels });
    const size = options.targetSize?.(image.width, image.height);
    const sized = size ? await resizeFrames(image, size.width, size.height) : image;
    const frames = options.mapFrame ? await options.mapFrame(sized) : sized;
    return { kind: 'image', frames, sourceWidth: image.width, sourceHeight: image.height };
  }
  let info;
  try {
    info = await probeVideo(file, field, options);
  } catch (err) {
    if (err instanceof InputUnreadableError) {
      throw withField(new InputUnreadableError(field, 'not a readable image or video', { cause: err }), field);
    }
    throw err;
  }
  const size = options.targetSize?.(info.width, info.height);
  const frames = await decodeVideo(file, field, {
    ...options,
    info,
    width: size?.width,
    height: size?.height,
  });
  return { kind: 'video', frames, sourceWidth: info.width, sourceHeight: info.height, fps: info.fps };
}

/** Header-only check: does libvips recognise an image format here? */
async function looksLikeImage(file: string): Promise<boolean> {
  try {
    const meta = await sharp(file).metadata();
    return meta.width > 0 && meta.height > 0;
  } catch {
    return false;
  }
}
