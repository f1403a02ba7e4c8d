import { actionCaption, DEFAULT_VIEWPOINT, systemPromptFor, withMetadata, type PromptMedia } from './prompt.js';
import type { ChatMessage, ChatTokenizer } from './tokenizer.js';

/** Conditional and unconditional token ids of a request, composed as the reference pipeline does. */

export interface TextSettings {
  /** Prepend the mode's system prompt (the reference's default_use_system_prompt; default on). */
  readonly useSystemPrompt: boolean;
  /** Cap on the tokens of the user's prompt and of the negative prompt; longer ones are cut, not rejected. */
  readonly maxPromptTokens: number;
  /** Append the duration sentence (videos) and the resolution sentence. */
  readonly addDuration: boolean;
  readonly addResolution: boolean;
}

export const DEFAULT_TEXT_SETTINGS: TextSettings = {
  useSystemPrompt: true,
  maxPromptTokens: 1024,
  addDuration: true,
  addResolution: true,
};

export interface PromptRequest {
  readonly prompt: string;
  readonly negativePrompt: string;
  /** Output frames, fps and pixel size (action modes: chunk + 1 frames and the canvas size). */
  readonly media: PromptMedia;
  /** Action modes: the prompt becomes the JSON caption; the negative prompt is used as is. */
  readonly action?: { readonly viewPoint?: string };
}

export interface EncodedPrompts {
  /** [L] ids: chat template + eos + vision start. */
  readonly cond: BigInt64Array;
  readonly uncond: BigInt64Array;
  /** The user-turn texts before the chat template (for logs and tests). */
  readonly condText: string;
  readonly uncondText: string;
  /** True when the prompt or negative prompt was cut to maxPromptTokens. */
  readonly truncated: boolean;
}

export interface PromptEncoder {
  readonly settings: TextSettings;
  encodePrompts(request: PromptRequest): EncodedPrompts;
}

const REPLACEMENT_CHAR = /\uFFFD+$/u;

export function createPromptEncoder(tokenizer: ChatTokenizer, settings: TextSettings = DEFAULT_TEXT_SETTINGS): PromptEncoder {
  if (!Number.isInteger(settings.maxPromptTokens) || settings.maxPromptTokens < 1) {
    throw new RangeError(`maxPromptTokens must be a positive integer, got ${settings.maxPromptTokens}`);
  }
  const truncate = (text: string): { text: string; cut: boolean } => {
    const ids = tokenizer.encode(text);
    if (ids.length <= settings.maxPromptTokens) return { text, cut: false };
    // a cut through a multi-byte character decodes to U+FFFD: drop it
    return { text: tokenizer.decode(ids.slice(0, settings.maxPromptTokens)).replace(REPLACEMENT_CHAR, ''), cut: true };
  };

  const toIds = (userText: string, media: PromptMedia): BigInt64Array => {
    const messages: ChatMessage[] = [];
    if (settings.useSystemPrompt) messages.push({ role: 'system', content: systemPromptFor(media) });
    messages.push({ role: 'user', content: userText });
    const ids = tokenizer.encodeChat(messages);
    ids.push(tokenizer.eosId, tokenizer.visionStartId);
    return BigInt64Array.from(ids, (id) => BigInt(id));
  };

  return {
    settings,
    encodePrompts(request) {
      const prompt = truncate(request.prompt);
      const negative = truncate(request.negativePrompt);
      const metadata = { addDuration: settings.addDuration, addResolution: settings.addResolution };
      const condText = request.action
        ? actionCaption(prompt.text, request.media, request.action.viewPoint ?? DEFAULT_VIEWPOINT)
        : withMetadata(prompt.text, request.media, false, metadata);
      const uncondText = request.action ? negative.text : withMetadata(negative.text, request.media, true, metadata);
      return {
        cond: toIds(condText, request.media),
        uncond: toIds(uncondText, request.media),
        condText,
        uncondText,
        truncated: prompt.cut || negative.cut,
      };
    },
  };
}
