export { createChatTokenizer, VISION_START_TOKEN } from './tokenizer.js';
export type { ChatMessage, ChatTokenizer, TextAssets } from './tokenizer.js';
export {
  actionCaption,
  withMetadata,
  systemPromptFor,
  SYSTEM_PROMPT_IMAGE,
  SYSTEM_PROMPT_VIDEO,
  ACTION_VIEWPOINTS,
  DEFAULT_VIEWPOINT,
  DEFAULT_METADATA,
} from './prompt.js';
export type { PromptMedia, MetadataOptions } from './prompt.js';
export { createPromptEncoder, DEFAULT_TEXT_SETTINGS } from './prompt-encoder.js';
export type { EncodedPrompts, PromptEncoder, PromptRequest, TextSettings } from './prompt-encoder.js';
export { formatFixed, pyFloatRepr, pyJsonDumps, PyFloat, roundHalfEven } from './py-format.js';
