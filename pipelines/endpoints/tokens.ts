// Token counts before a request is sent: for the tokens/min limiter and for `--dry-run`. Text is
// counted with the o200k_base BPE (GPT-4o, GPT-4.1, o-series; other models' tokenizers land within
// a few percent on English), plus the chat format's per-message overhead, the structured-output
// schema the server adds to the prompt, and fixed costs for images and audio. The server's reported
// usage settles the exact figure afterwards; this is the estimate that decides what may be sent.
import { lazyRequire } from '../lazy-require.ts';

/** The o200k_base tables take ~0.3 CPU s to load: only runs that count tokens pay it. */
const o200k = lazyRequire<typeof import('gpt-tokenizer/encoding/o200k_base')>('gpt-tokenizer/cjs/encoding/o200k_base');

/** Tokens the chat format adds per message (role and separators), and to prime the reply. */
const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
/** An image sent with detail 'low' costs a flat 85 tokens on OpenAI; 'high'/'auto' tiles cost more. */
const IMAGE_LOW_TOKENS = 85;
const IMAGE_HIGH_TOKENS = 765;
/** Audio input: about 10 tokens per second (gpt-4o audio models); 16 kHz mono s16 WAV is 32,000 bytes/s. */
const AUDIO_TOKENS_PER_SECOND = 10;
const WAV_BYTES_PER_SECOND = 32_000;

/** Tokens of a plain text. */
export function countTextTokens(text: string): number {
  return text === '' ? 0 : o200k().countTokens(text);
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return countTextTokens(content);
  if (!Array.isArray(content)) return content == null ? 0 : countTextTokens(JSON.stringify(content));
  let total = 0;
  for (const part of content as { type?: string; text?: string; image_url?: { detail?: string }; input_audio?: { data?: string } }[]) {
    if (part.type === 'text') total += countTextTokens(part.text ?? '');
    else if (part.type === 'image_url') total += part.image_url?.detail === 'low' ? IMAGE_LOW_TOKENS : IMAGE_HIGH_TOKENS;
    else if (part.type === 'input_audio') {
      const bytes = Math.floor(((part.input_audio?.data ?? '').length * 3) / 4);
      total += Math.ceil((bytes / WAV_BYTES_PER_SECOND) * AUDIO_TOKENS_PER_SECOND);
    } else total += countTextTokens(JSON.stringify(part));
  }
  return total;
}

/** Input tokens of a chat request: messages, their overhead and the response schema. */
export function countChatInputTokens(params: { readonly messages: unknown; readonly response_format?: unknown }): number {
  let total = REPLY_PRIMING;
  for (const message of (Array.isArray(params.messages) ? params.messages : []) as { content?: unknown }[]) {
    total += PER_MESSAGE + contentTokens(message.content);
  }
  const format = params.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === 'json_schema' && format.json_schema?.schema) total += countTextTokens(JSON.stringify(format.json_schema.schema));
  return total;
}

/** What the limiter reserves for a chat request: its input tokens plus the output cap (default 512). */
export function estimateChatTokens(params: {
  readonly messages: unknown;
  readonly response_format?: unknown;
  readonly max_tokens?: number | null;
  readonly max_completion_tokens?: number | null;
}): number {
  return countChatInputTokens(params) + (params.max_completion_tokens ?? params.max_tokens ?? 512);
}
