import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';

/**
 * The Qwen tokenizer (tokenizer.json through @huggingface/tokenizers) and its chat template (through
 * @huggingface/jinja), built from file contents the engine has already read.
 */

export interface TextAssets {
  /** Contents of text_tokenizer/tokenizer.json. */
  readonly tokenizerJson: string;
  /** Contents of text_tokenizer/tokenizer_config.json. */
  readonly tokenizerConfigJson: string;
  /** Contents of text_tokenizer/chat_template.jinja; else tokenizer_config.json's `chat_template`. */
  readonly chatTemplate?: string;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export const VISION_START_TOKEN = '<|vision_start|>';

export interface ChatTokenizer {
  /** Token ids of plain text (no special tokens added). */
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** The chat template rendered with the generation prompt, then tokenized. */
  encodeChat(messages: readonly ChatMessage[]): number[];
  readonly eosId: number;
  readonly visionStartId: number;
}

interface TokenizerConfig {
  eos_token?: string | { content: string };
  chat_template?: string;
  [key: string]: unknown;
}

function tokenText(token: string | { content: string } | undefined): string | undefined {
  return typeof token === 'object' && token !== null ? token.content : token;
}

export function createChatTokenizer(assets: TextAssets): ChatTokenizer {
  const config = JSON.parse(assets.tokenizerConfigJson) as TokenizerConfig;
  const tokenizer = new Tokenizer(JSON.parse(assets.tokenizerJson) as object, config);
  const templateText = assets.chatTemplate ?? config.chat_template;
  if (typeof templateText !== 'string') throw new TypeError('tokenizer: no chat template (chat_template.jinja or tokenizer_config.json)');
  const template = new Template(templateText);
  const idOf = (token: string | undefined, what: string): number => {
    const id = token === undefined ? undefined : tokenizer.token_to_id(token);
    if (id === undefined) throw new TypeError(`tokenizer: no id for the ${what} token ${token ?? '(unset)'}`);
    return id;
  };
  const specialTokens: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const t = tokenText(config[key] as string | { content: string } | undefined);
    if (t !== undefined && t !== null) specialTokens[key] = t;
  }
  const encode = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false }).ids;
  return {
    encode,
    decode: (ids) => tokenizer.decode([...ids], { skip_special_tokens: false }),
    encodeChat: (messages) =>
      encode(
        template.render({
          ...specialTokens,
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: true,
          add_vision_id: false,
        }),
      ),
    eosId: idOf(tokenText(config.eos_token), 'eos'),
    visionStartId: idOf(VISION_START_TOKEN, 'vision start'),
  };
}
