// Hosted ASR through an OpenAI-compatible /audio/transcriptions endpoint (OpenAI Whisper, vLLM,
// faster-whisper servers, LocalAI ...), via the shared endpoint client so caching, rate limits and
// retries are the same as the teachers'. Asks for verbose_json with word and segment timings and
// steps down, per endpoint, when the server refuses them (gpt-4o-transcribe and several local
// servers only speak json).
import { createReadStream } from 'node:fs';
import type { TranscriptionCreateParamsNonStreaming } from 'openai/resources/audio/transcriptions';
import type { EndpointClient } from '../../pipelines/endpoints/endpoint-client.ts';
import { EndpointRejectedError } from '../../pipelines/endpoints/endpoint-errors.ts';
import { openaiLib } from '../../pipelines/endpoints/openai-lib.ts';

export interface EndpointTranscription {
  /** Whitespace-normalised text. */
  readonly text: string;
  /** ISO 639-1 (or the server's own short tag) as the server reported it; undefined when it did not. */
  readonly language?: string;
  readonly words?: { word: string; start: number; end: number }[];
  readonly spans?: { start: number; end: number; text: string }[];
  /** Which request shape the server answered. */
  readonly format: TranscriptionFormat;
}

export interface EndpointTranscriptionResult {
  readonly transcription: EndpointTranscription;
  readonly cached: boolean;
}

export interface TranscribeAudioOptions {
  /** Store key of the content-addressed WAV: the audio's identity in the cache key. */
  readonly audioKey: string;
  /** Local path of the same bytes, uploaded on a cache miss. */
  readonly audioPath: string;
  /** ISO 639-1 hint for the server; undefined lets it detect the language. */
  readonly language?: string;
  readonly signal: AbortSignal;
}

/** Request shapes, richest first. */
const FORMATS = ['verbose_json+timestamps', 'verbose_json', 'json'] as const;
type TranscriptionFormat = (typeof FORMATS)[number];

/** Per client: the richest format its server accepted, so later records skip the refused ones. */
const acceptedFormat = new WeakMap<EndpointClient, number>();

/** Transcribes one WAV. Throws the endpoint client's error classes. */
export async function transcribeAudio(client: EndpointClient, options: TranscribeAudioOptions): Promise<EndpointTranscriptionResult> {
  // The answer depends on the audio, the model (added by the client) and the language hint; the
  // request shape is a transport detail, so it stays out of the key.
  const params = { audio: options.audioKey, language: options.language ?? null };
  for (let rung = acceptedFormat.get(client) ?? 0; ; rung++) {
    const format = FORMATS[rung];
    try {
      const result = await client.request<EndpointTranscription>({
        operation: 'audio.transcriptions',
        params,
        signal: options.signal,
        send: async (openai, requestOptions) => {
          const body: TranscriptionCreateParamsNonStreaming = {
            // A fresh stream per attempt: a retried upload must start from byte 0.
            file: await (await openaiLib()).toFile(createReadStream(options.audioPath), 'segment.wav', { type: 'audio/wav' }),
            model: client.config.model,
            response_format: format === 'json' ? 'json' : 'verbose_json',
            ...(format === 'verbose_json+timestamps' ? { timestamp_granularities: ['word', 'segment'] as ('word' | 'segment')[] } : {}),
            ...(options.language ? { language: options.language } : {}),
          };
          const response = (await openai.audio.transcriptions.create(body, requestOptions)) as unknown as RawTranscription;
          return { value: parseTranscription(response, format), usage: reportedUsage(response) };
        },
      });
      if (!result.cached) acceptedFormat.set(client, rung);
      return { transcription: result.value, cached: result.cached };
    } catch (error) {
      const refused = error instanceof EndpointRejectedError && refusesFormat(error.message, format);
      if (!refused || rung === FORMATS.length - 1) throw error;
    }
  }
}

/** Does a 400/422 say the server cannot do what this format asked for? */
function refusesFormat(message: string, format: TranscriptionFormat): boolean {
  if (format === 'verbose_json+timestamps') return /timestamp_granularities|verbose_json|response_format/i.test(message);
  if (format === 'verbose_json') return /verbose_json|response_format/i.test(message);
  return false;
}

interface RawTranscription {
  text?: unknown;
  language?: unknown;
  segments?: { start?: unknown; end?: unknown; text?: unknown }[];
  words?: { word?: unknown; start?: unknown; end?: unknown }[];
  usage?: { type?: string; input_tokens?: number; output_tokens?: number };
}

function parseTranscription(response: RawTranscription, format: TranscriptionFormat): EndpointTranscription {
  const text = typeof response.text === 'string' ? normaliseText(response.text) : '';
  const spans = Array.isArray(response.segments)
    ? response.segments
        .filter((s) => typeof s.start === 'number' && typeof s.end === 'number' && typeof s.text === 'string')
        .map((s) => ({ start: s.start as number, end: s.end as number, text: normaliseText(s.text as string) }))
    : undefined;
  const words = Array.isArray(response.words)
    ? response.words
        .filter((w) => typeof w.word === 'string' && typeof w.start === 'number' && typeof w.end === 'number')
        .map((w) => ({ word: (w.word as string).trim(), start: w.start as number, end: w.end as number }))
        .filter((w) => w.word !== '')
    : undefined;
  const language = typeof response.language === 'string' ? languageTag(response.language) : undefined;
  return { text, format, ...(language ? { language } : {}), ...(words ? { words } : {}), ...(spans ? { spans } : {}) };
}

function reportedUsage(response: RawTranscription): { inputTokens: number; outputTokens: number } | undefined {
  const usage = response.usage;
  if (usage?.type !== 'tokens') return undefined;
  return { inputTokens: usage.input_tokens ?? 0, outputTokens: usage.output_tokens ?? 0 };
}

/** Whisper reports language names ("english"); other servers send codes ("en", "en-US"). */
const WHISPER_LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  english: 'en',
  chinese: 'zh',
  german: 'de',
  spanish: 'es',
  russian: 'ru',
  korean: 'ko',
  french: 'fr',
  japanese: 'ja',
  portuguese: 'pt',
  turkish: 'tr',
  polish: 'pl',
  catalan: 'ca',
  dutch: 'nl',
  arabic: 'ar',
  swedish: 'sv',
  italian: 'it',
  indonesian: 'id',
  hindi: 'hi',
  finnish: 'fi',
  vietnamese: 'vi',
  hebrew: 'he',
  ukrainian: 'uk',
  greek: 'el',
  malay: 'ms',
  czech: 'cs',
  romanian: 'ro',
  danish: 'da',
  hungarian: 'hu',
  tamil: 'ta',
  norwegian: 'no',
  thai: 'th',
  urdu: 'ur',
  croatian: 'hr',
  bulgarian: 'bg',
  lithuanian: 'lt',
  persian: 'fa',
  bengali: 'bn',
  serbian: 'sr',
  slovak: 'sk',
  tagalog: 'tl',
  telugu: 'te',
  cantonese: 'yue',
  welsh: 'cy',
  latvian: 'lv',
  slovenian: 'sl',
  estonian: 'et',
};

/** The server's language as a BCP-47 primary tag, or undefined when it is not recognisable. */
export function languageTag(reported: string): string | undefined {
  const value = reported.trim().toLowerCase();
  if (/^[a-z]{2,3}([-_][a-z0-9]{2,8})*$/.test(value) && !(value in WHISPER_LANGUAGE_NAMES)) return value.split(/[-_]/)[0];
  return WHISPER_LANGUAGE_NAMES[value];
}

function normaliseText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
