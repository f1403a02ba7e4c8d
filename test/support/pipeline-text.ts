import { createChatTokenizer, createPromptEncoder, type PromptEncoder, type TextSettings } from '../../src/pipeline/text/index.js';
import { DEFAULT_TEXT_SETTINGS } from '../../src/pipeline/text/index.js';
import { readTinyText } from './pipeline-fixtures.js';

/** The tiny fixture tokenizer and a prompt encoder over it (files read here, as the engine would). */
export function tinyChatTokenizer() {
  return createChatTokenizer({
    tokenizerJson: readTinyText('text_tokenizer/tokenizer.json'),
    tokenizerConfigJson: readTinyText('text_tokenizer/tokenizer_config.json'),
    chatTemplate: readTinyText('text_tokenizer/chat_template.jinja'),
  });
}

export function tinyPromptEncoder(settings: Partial<TextSettings> = {}): PromptEncoder {
  return createPromptEncoder(tinyChatTokenizer(), { ...DEFAULT_TEXT_SETTINGS, ...settings });
}
