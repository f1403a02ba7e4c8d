import { formatFixed, PyFloat, pyJsonDumps, pyRstrip, pyStrip, roundHalfEven, type PyJson } from './py-format.js';

/**
 * Prompt composition of the reference pipeline (diffusers Cosmos3 omni `tokenize_prompt`): the metadata
 * sentences appended to the prompt (their negations to the negative prompt), the system prompts, and the
 * structured JSON caption of the action modes. The literal strings must match the trained model.
 */

export const SYSTEM_PROMPT_IMAGE = 'You are a helpful assistant who will generate images from a give prompt.';
export const SYSTEM_PROMPT_VIDEO = 'You are a helpful assistant who will generate videos from a give prompt.';

/** Framing sentence per camera viewpoint of the action caption (`ego_view` is the default). */
export const ACTION_VIEWPOINTS: Readonly<Record<string, string>> = {
  ego_view: 'This video is captured from a first-person perspective looking at the scene.',
  third_person_view: 'This video is captured from a third-person perspective looking towards the agent from the front.',
  wrist_view: 'This video is captured from a wrist-mounted camera.',
  concat_view: 'This video contains concatenated views from multiple camera perspectives.',
};
export const DEFAULT_VIEWPOINT = 'ego_view';

/** Aspect labels of the action caption, nearest W/H first wins a tie. */
const CAPTION_ASPECTS: readonly (readonly [string, number])[] = [
  ['1,1', 1],
  ['4,3', 4 / 3],
  ['3,4', 3 / 4],
  ['16,9', 16 / 9],
  ['9,16', 9 / 16],
];
const SENTENCE_ENDS = ['.', '!', '?'];
const SECONDS_PER_MINUTE = 60;

/** What the metadata sentences describe: pixel frames (1 = image), frame rate and pixel size. */
export interface PromptMedia {
  readonly frames: number;
  readonly fps: number;
  readonly height: number;
  readonly width: number;
}

export interface MetadataOptions {
  readonly addDuration: boolean;
  readonly addResolution: boolean;
}

export const DEFAULT_METADATA: MetadataOptions = { addDuration: true, addResolution: true };

export function systemPromptFor(media: PromptMedia): string {
  return media.frames === 1 ? SYSTEM_PROMPT_IMAGE : SYSTEM_PROMPT_VIDEO;
}

function appendSentence(base: string, sentence: string): string {
  const trimmed = pyRstrip(base, '.');
  return trimmed ? `${trimmed}. ${sentence}` : sentence;
}

/** The prompt (or, `negative`, the negative prompt) with the duration and resolution sentences appended. */
export function withMetadata(text: string, media: PromptMedia, negative: boolean, options: MetadataOptions = DEFAULT_METADATA): string {
  const isImage = media.frames === 1;
  const not = negative ? 'not ' : '';
  let out = text;
  if (!isImage && options.addDuration) {
    const seconds = formatFixed(media.frames / media.fps, 1);
    const fps = formatFixed(media.fps, 0);
    out = appendSentence(out, `The video is ${not}${seconds} seconds long and is ${not}of ${fps} FPS.`);
  }
  if (options.addResolution) {
    const kind = isImage ? 'image' : 'video';
    out = appendSentence(out, `This ${kind} is ${not}of ${media.height}x${media.width} resolution.`);
  }
  return out;
}

/** The JSON caption the action modes use as the conditional prompt (`media` = the canvas and its frames). */
export function actionCaption(description: string, media: PromptMedia, viewPoint: string = DEFAULT_VIEWPOINT): string {
  const seconds = media.fps > 0 ? media.frames / media.fps : 0;
  const finite = seconds >= 0 && Number.isFinite(seconds);
  const duration = finite ? Math.trunc(seconds) : 0;
  const end = finite ? roundHalfEven(seconds) : 0;
  const minutes = Math.floor(end / SECONDS_PER_MINUTE);
  const secs = end % SECONDS_PER_MINUTE;
  let desc = pyStrip(description);
  if (desc && !SENTENCE_ENDS.some((e) => desc.endsWith(e))) desc = `${desc}.`;
  const ratio = media.height > 0 ? media.width / media.height : 1;
  let aspect = CAPTION_ASPECTS[0][0];
  let best = Infinity;
  for (const [label, value] of CAPTION_ASPECTS) {
    const d = Math.abs(value - ratio);
    if (d < best) {
      best = d;
      aspect = label;
    }
  }
  const caption: Record<string, PyJson> = {};
  const framing = ACTION_VIEWPOINTS[viewPoint];
  if (framing) caption.cinematography = { framing };
  caption.actions = [{ time: `0:00-${minutes}:${String(secs).padStart(2, '0')}`, description: desc }];
  caption.duration = `${duration}s`;
  caption.fps = new PyFloat(media.fps);
  caption.resolution = { H: Math.trunc(media.height), W: Math.trunc(media.width) };
  caption.aspect_ratio = aspect;
  return pyJsonDumps(caption);
}

