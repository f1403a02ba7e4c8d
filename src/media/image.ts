import sharp, { type Sharp } from 'sharp';
import { InputUnreadableError, withField, type RgbFrames } from '../shared/index.js';

/**
 * Still images with sharp (libvips): decode to RGB, the two resizes the reference applies to conditioning
 * frames, and JPEG output. Frames are RgbFrames: uint8, row-major [F, H, W, 3].
 */

/** Largest decoded image we accept, in pixels (8K × 5K); larger inputs are refused before decoding. */
export const DEFAULT_MAX_INPUT_PIXELS = 40_000_000;

export interface DecodeImageOptions {
  readonly maxPixels?: number;
}

/**
 * Formats accepted as images (sharp's `metadata().format` names; 'heif' covers AVIF). Vector and document
 * formats (SVG, PDF) are refused: they can reference other files and are not photographs.
 */
export const IMAGE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif'];

/**
 * Decode an image file or buffer into one RGB frame: EXIF orientation applied, alpha dropped (not composited,
 * like PIL `convert("RGB")`), greyscale/CMYK/16-bit converted to 8-bit sRGB; animated images give their first
 * frame. Anything sharp cannot read, a format outside IMAGE_FORMATS, or more than `maxPixels` →
 * InputUnreadableError naming `field` (400).
 */
export async function decodeImage(input: string | Uint8Array, field: string, options: DecodeImageOptions = {}): Promise<RgbFrames> {
  let format: string | undefined;
  let tooLarge: string | undefined;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  try {
    // the header first, without the limit (no pixels are decoded), so that a too-large image is named as such
    const meta = await sharp(input, { failOn: 'error', limitInputPixels: false }).metadata();
    const image = sharp(input, { failOn: 'error', autoOrient: true, limitInputPixels: maxPixels });
    format = meta.format;
    if (!IMAGE_FORMATS.includes(format)) throw new Error(`image format '${format}' is not accepted`);
    if (meta.width * meta.height > maxPixels) {
      tooLarge = `image is too large (${meta.width}×${meta.height} pixels; the limit is ${maxPixels})`;
      throw new Error(tooLarge);
    }
    const { data, info } = await image
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data, frames: 1, height: info.height, width: info.width };
  } catch (err) {
    const what =
      tooLarge ??
      (format !== undefined && !IMAGE_FORMATS.includes(format)
        ? `image format '${format}' is not accepted (${IMAGE_FORMATS.join(', ')})`
        : `not a readable image (an image file is needed: ${IMAGE_FORMATS.join(', ')})`);
    throw withField(new InputUnreadableError(field, what, { cause: err }), field);
  }
}

/** Where a cover resize lands: the intermediate size and the crop offsets into it. */
export interface CoverPlan {
  readonly resizeWidth: number;
  readonly resizeHeight: number;
  readonly left: number;
  readonly top: number;
}

/**
 * The cosmos-framework cover resize (`_resize_and_center_crop`): scale = max(W/w, H/h), both sides rounded UP
 * (`ceil`), then torchvision's `center_crop`, whose offsets are `round((size - target) / 2)` with Python's
 * round-half-to-even. Float operations are the same IEEE doubles in the same order, so sizes match exactly.
 */
export function coverPlan(srcWidth: number, srcHeight: number, width: number, height: number): CoverPlan {
  checkSize('coverPlan source', srcWidth, srcHeight);
  checkSize('coverPlan target', width, height);
  const scale = Math.max(width / srcWidth, height / srcHeight);
  const resizeHeight = Math.ceil(scale * srcHeight);
  const resizeWidth = Math.ceil(scale * srcWidth);
  return {
    resizeWidth,
    resizeHeight,
    left: roundHalfEven((resizeWidth - width) / 2),
    top: roundHalfEven((resizeHeight - height) / 2),
  };
}

/**
 * The cosmos-framework fit for action canvases (`reflection_pad_to_target`, step 1): scale = min(W/w, H/h, 1),
 * never up, sides rounded half up (`int(x + 0.5)`). Padding to the canvas happens later, in the pipeline.
 */
export function fitWithinSize(srcWidth: number, srcHeight: number, maxWidth: number, maxHeight: number): { width: number; height: number } {
  checkSize('fitWithinSize source', srcWidth, srcHeight);
  checkSize('fitWithinSize bounds', maxWidth, maxHeight);
  const scale = Math.min(maxWidth / srcWidth, maxHeight / srcHeight, 1);
  return {
    width: Math.max(1, Math.floor(scale * srcWidth + 0.5)),
    height: Math.max(1, Math.floor(scale * srcHeight + 0.5)),
  };
}

/** Cover-resize then centre-crop every frame to exactly width × height (bilinear, antialiased when shrinking). */
export async function coverResize(frames: RgbFrames, width: number, height: number): Promise<RgbFrames> {
  const plan = coverPlan(frames.width, frames.height, width, height);
  return mapFrames(frames, width, height, (img) => {
    const resized =
      plan.resizeWidth === frames.width && plan.resizeHeight === frames.height
        ? img
        : img.resize(plan.resizeWidth, plan.resizeHeight, { fit: 'fill', kernel: 'linear' });
    return resized.extract({ left: plan.left, top: plan.top, width, height });
  });
}

/** Scale every frame to fit inside maxWidth × maxHeight keeping the aspect ratio, never up (bicubic, antialiased). */
export async function fitWithin(frames: RgbFrames, maxWidth: number, maxHeight: number): Promise<RgbFrames> {
  const size = fitWithinSize(frames.width, frames.height, maxWidth, maxHeight);
  return resizeFrames(frames, size.width, size.height);
}

/** Resize every frame to exactly width × height (bicubic, antialiased when shrinking); a no-op at the same size. */
export async function resizeFrames(frames: RgbFrames, width: number, height: number): Promise<RgbFrames> {
  checkSize('resizeFrames target', width, height);
  if (width === frames.width && height === frames.height) return frames;
  return mapFrames(frames, width, height, (img) => img.resize(width, height, { fit: 'fill', kernel: 'cubic' }));
}

/** Encode a single frame as baseline JPEG (4:2:0, like PIL's default at this quality). */
export async function encodeJpeg(frames: RgbFrames, quality = 95): Promise<Buffer> {
  checkFrames(frames);
  if (frames.frames !== 1) throw new RangeError(`encodeJpeg: expected 1 frame, got ${frames.frames}`);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`encodeJpeg: quality must be an integer in 1..100, got ${quality}`);
  }
  return fromRaw(frames.data, frames.width, frames.height).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
}

/** Check that `frames.data` holds exactly frames × height × width × 3 bytes. */
export function checkFrames(frames: RgbFrames): void {
  checkSize('frames', frames.width, frames.height);
  if (!Number.isInteger(frames.frames) || frames.frames < 1) throw new RangeError(`frames: count must be ≥ 1, got ${frames.frames}`);
  const expected = frames.frames * frames.height * frames.width * 3;
  if (frames.data.length !== expected) {
    throw new RangeError(
      `frames: ${frames.frames}×${frames.height}×${frames.width}×3 needs ${expected} bytes, data has ${frames.data.length}`,
    );
  }
}

async function mapFrames(
  frames: RgbFrames,
  width: number,
  height: number,
  op: (img: Sharp) => Sharp,
): Promise<RgbFrames> {
  checkFrames(frames);
  const inBytes = frames.width * frames.height * 3;
  const outBytes = width * height * 3;
  const out = new Uint8Array(frames.frames * outBytes);
  for (let f = 0; f < frames.frames; f++) {
    const src = frames.data.subarray(f * inBytes, (f + 1) * inBytes);
    const { data, info } = await op(fromRaw(src, frames.width, frames.height)).raw().toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== 3) {
      throw new Error(`resize produced ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`);
    }
    out.set(data, f * outBytes);
  }
  return { data: out, frames: frames.frames, height, width };
}

function fromRaw(data: Uint8Array, width: number, height: number): Sharp {
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function checkSize(what: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${what}: size must be positive integers, got ${width}×${height}`);
  }
}
