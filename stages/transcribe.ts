// transcribe: attaches a transcript to each segment: the segment's subtitle cue text, the clip's
// manifest text (subtitles shipped with the dataset), offline ASR with pocketsphinx, or a hosted
// OpenAI-compatible ASR endpoint. An empty recognition is not a drop: the filter stage decides what
// too little speech means. The language is the configured one, or detected (by the ASR endpoint,
// else offline from the text with franc) when the config says `language: auto`.
import { franc } from 'franc';
import { z } from 'zod';
import { EndpointConfig, endpointIdentity } from '../pipelines/endpoints/endpoint-config.ts';
import { sharedEndpointClient } from '../pipelines/endpoints/shared-clients.ts';
import { FatalError } from '../pipelines/errors.ts';
import { drop, type DropResult, type SegmentStage, type StageContext } from '../pipelines/stage.ts';
import type { Segment, Transcript } from '../schemas/records.ts';
import { transcribeAudio } from './asr/openai.ts';
import { recognizeWithPocketsphinx } from './asr/pocketsphinx.ts';

const LanguageTag = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "a BCP-47 tag such as en or en-US, or 'auto'");

const TranscribeConfig = z
  .object({
    /**
     * 'subtitles' uses the segment's subtitle cue text (a subtitle segmenter sets it), 'manifest' the
     * clip's manifest text, 'pocketsphinx' runs offline ASR, 'openai' a hosted OpenAI-compatible ASR
     * endpoint (needs `endpoint`); 'auto' takes subtitle text, else manifest text when it applies,
     * else pocketsphinx. Default 'auto'.
     */
    engine: z.enum(['auto', 'pocketsphinx', 'manifest', 'subtitles', 'openai']).default('auto'),
    /**
     * BCP-47 language of the speech, recorded in the transcript (languageSource 'config') and sent to
     * an ASR endpoint as a hint. 'auto' detects it: the ASR endpoint's report, else franc on the text
     * ('und' when the text is too short to tell). pocketsphinx only has English. Default 'en'.
     */
    language: z.union([z.literal('auto'), LanguageTag]).default('en'),
    /**
     * 'auto' uses manifest text only for a segment covering at least this share of its clip: the text
     * describes the whole clip, so a segment cut from a longer clip is recognised instead. Default 0.8.
     */
    manifestMinCoverage: z.number().min(0).max(1).default(0.8),
    /** The OpenAI-compatible endpoint for engine 'openai' (baseURL, model, apiKeyEnv, limits ...). */
    endpoint: EndpointConfig.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.engine === 'pocketsphinx' && !isEnglishOrAuto(config.language)) {
      ctx.addIssue({
        code: 'custom',
        path: ['language'],
        message: 'pocketsphinx only has the en-us model: set language to en (or auto), or use engine manifest',
      });
    }
    if (config.engine === 'openai' && !config.endpoint) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: "engine 'openai' needs an endpoint: { baseURL, model, apiKeyEnv } (e.g. baseURL https://api.openai.com/v1, model whisper-1)",
      });
    }
    if (config.engine !== 'openai' && config.endpoint) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: `endpoint is only used by engine 'openai' (engine is '${config.engine}'): remove it or set engine: openai`,
      });
    }
  });
export type TranscribeConfig = z.infer<typeof TranscribeConfig>;

export const transcribe: SegmentStage<TranscribeConfig> = {
  kind: 'segment',
  name: 'transcribe',
  // 2: transcripts record languageSource; subtitles and openai engines; spans from hosted ASR.
  version: 2,
  configSchema: TranscribeConfig,
  reads: ['audio', 'clip', 'subtitle'],
  adds: ['transcript'],
  cache: true,
  cacheConfig: ({ endpoint, ...rest }) => ({ ...rest, endpoint: endpoint && endpointIdentity(endpoint) }),

  async run(segment, config, ctx): Promise<Segment | DropResult> {
    const subtitle = normaliseText(segment.subtitle ?? '');
    const manifestText = normaliseText(segment.clip.manifest.text ?? '');
    let engine = config.engine;
    if (engine === 'auto') {
      engine = subtitle ? 'subtitles' : manifestText && clipCoverage(segment) >= config.manifestMinCoverage ? 'manifest' : 'pocketsphinx';
    }

    let transcript: Transcript;
    switch (engine) {
      case 'subtitles':
        if (!subtitle)
          return drop(
            'no-subtitle',
            `segment ${segment.index} of ${segment.clip.uri} has no subtitle text and transcribe.engine is 'subtitles' (use a subtitle segmenter)`,
          );
        transcript = { text: subtitle, ...decideLanguage(config, subtitle), engine: 'subtitles' };
        break;
      case 'manifest':
        if (!manifestText) return drop('no-manifest-text', `clip ${segment.clip.uri} has no manifest text and transcribe.engine is 'manifest'`);
        // A corpus that says its text's language (MER: Chinese) is believed over the config and the detector.
        transcript = {
          text: manifestText,
          ...(segment.clip.manifest.textLanguage
            ? { language: segment.clip.manifest.textLanguage, languageSource: 'manifest' as const }
            : decideLanguage(config, manifestText)),
          engine: 'manifest',
        };
        break;
      case 'openai':
        if (!segment.audio) return drop('no-audio', `segment ${segment.index} of ${segment.clip.uri} has no audio to transcribe`);
        transcript = await recognizeWithEndpoint(segment.audio.key, config, ctx);
        break;
      default:
        if (!segment.audio) return drop('no-audio', `segment ${segment.index} of ${segment.clip.uri} has no audio to transcribe`);
        transcript = await recognize(segment.audio.key, config, ctx);
    }
    return { ...segment, transcript };
  },
};

async function recognize(audioKey: string, config: TranscribeConfig, ctx: StageContext): Promise<Transcript> {
  if (!isEnglishOrAuto(config.language)) {
    throw new FatalError(
      `transcribe.language is '${config.language}' but pocketsphinx only has the en-us model: set language: en, or engine: manifest with manifest text`,
    );
  }
  const wavPath = await ctx.store.localPath(audioKey);
  const logPath = `${await ctx.scratch()}/pocketsphinx.log`;
  ctx.work.add('asr');
  const recognition = await recognizeWithPocketsphinx(wavPath, { signal: ctx.signal, logPath });
  const text = normaliseText(recognition.text);
  // Word times are seconds from the start of the segment's audio.
  return { text, ...decideLanguage(config, text), engine: 'pocketsphinx', words: recognition.words };
}

async function recognizeWithEndpoint(audioKey: string, config: TranscribeConfig, ctx: StageContext): Promise<Transcript> {
  const client = sharedEndpointClient(config.endpoint!, ctx, 'transcribe.endpoint');
  const hint = config.language === 'auto' ? undefined : config.language.split('-')[0];
  const { transcription, cached } = await transcribeAudio(client, {
    audioKey,
    audioPath: await ctx.store.localPath(audioKey),
    language: hint,
    signal: ctx.signal,
  });
  if (!cached) ctx.work.add('asr');
  const { text, words, spans } = transcription;
  return {
    text,
    ...decideLanguage(config, text, transcription.language),
    engine: `openai:${client.config.model}`,
    ...(words ? { words } : {}),
    ...(spans ? { spans } : {}),
  };
}

function decideLanguage(config: TranscribeConfig, text: string, reported?: string): Pick<Transcript, 'language' | 'languageSource'> {
  if (config.language !== 'auto') return { language: config.language, languageSource: 'config' };
  return { language: reported ?? detectLanguage(text), languageSource: 'detected' };
}

/** franc's ISO 639-3 codes for the languages it may answer, with their ISO 639-1 codes. */
const FRANC_TO_ISO1: Readonly<Record<string, string>> = {
  eng: 'en',
  deu: 'de',
  fra: 'fr',
  spa: 'es',
  ita: 'it',
  por: 'pt',
  nld: 'nl',
  rus: 'ru',
  ukr: 'uk',
  pol: 'pl',
  ces: 'cs',
  slk: 'sk',
  ron: 'ro',
  hun: 'hu',
  bul: 'bg',
  hrv: 'hr',
  srp: 'sr',
  swe: 'sv',
  dan: 'da',
  nob: 'no',
  fin: 'fi',
  ell: 'el',
  tur: 'tr',
  arb: 'ar',
  heb: 'he',
  pes: 'fa',
  hin: 'hi',
  urd: 'ur',
  ben: 'bn',
  tam: 'ta',
  tel: 'te',
  tha: 'th',
  vie: 'vi',
  ind: 'id',
  zlm: 'ms',
  tgl: 'tl',
  cat: 'ca',
  cmn: 'zh',
  jpn: 'ja',
  kor: 'ko',
};
const FRANC_ONLY = Object.keys(FRANC_TO_ISO1);
/** Scripts where a few characters already tell the language (franc decides them by script). */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** Below this many letters franc's trigram guesses are mostly wrong (a 5-word English line came back Polish). */
const MIN_LETTERS = 30;
const MIN_CJK_CHARACTERS = 4;

/**
 * The language of a text as ISO 639-1, or 'und' when it is too short to tell or not one of the
 * languages above. Offline (franc, trigram statistics), restricted to common languages so that
 * short English lines are not read as Tok Pisin.
 */
export function detectLanguage(text: string): string {
  const letters = text.replace(/[^\p{L}]/gu, '');
  const enough = CJK.test(letters) ? letters.length >= MIN_CJK_CHARACTERS : letters.length >= MIN_LETTERS;
  if (!enough) return 'und';
  return FRANC_TO_ISO1[franc(text, { only: FRANC_ONLY, minLength: 1 })] ?? 'und';
}

/** Share of the clip's duration this segment spans; 1 when the clip's duration is unknown. */
function clipCoverage(segment: Segment): number {
  const duration = segment.clip.span ? segment.clip.span.end - segment.clip.span.start : segment.clip.probe.duration;
  return duration > 0 ? Math.min(1, (segment.end - segment.start) / duration) : 1;
}

function isEnglishOrAuto(language: string): boolean {
  return language === 'auto' || /^en(-|$)/.test(language);
}

function normaliseText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
