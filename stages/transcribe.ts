// transcribe: attaches a transcript to each segment, either the clip's manifest text (subtitles
// shipped with the dataset) or offline ASR with pocketsphinx. An empty recognition is not a drop:
// the filter stage decides what too little speech means.
import { z } from 'zod';
import { FatalError } from '../pipelines/errors.ts';
import { drop, type DropResult, type SegmentStage, type StageContext } from '../pipelines/stage.ts';
import type { Segment, Transcript } from '../schemas/records.ts';
import { recognizeWithPocketsphinx } from './asr/pocketsphinx.ts';

const TranscribeConfig = z
  .object({
    /** 'manifest' uses the clip's manifest text, 'pocketsphinx' runs offline ASR, 'auto' picks manifest text when it applies. Default 'auto'. */
    engine: z.enum(['auto', 'pocketsphinx', 'manifest']).default('auto'),
    /** BCP-47 language of the speech, recorded in the transcript. pocketsphinx only has English. Default 'en'. */
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP-47 tag such as en or en-US').default('en'),
    /**
     * 'auto' uses manifest text only for a segment covering at least this share of its clip: the text
     * describes the whole clip, so a segment cut from a longer clip is recognised instead. Default 0.8.
     */
    manifestMinCoverage: z.number().min(0).max(1).default(0.8),
  })
  .strict()
  .refine((config) => config.engine !== 'pocketsphinx' || isEnglish(config.language), {
    message: 'pocketsphinx only has the en-us model: set language to en, or use engine manifest',
    path: ['language'],
  });
export type TranscribeConfig = z.infer<typeof TranscribeConfig>;

export const transcribe: SegmentStage<TranscribeConfig> = {
  kind: 'segment',
  name: 'transcribe',
  version: 1,
  configSchema: TranscribeConfig,
  reads: ['audio', 'clip'],
  adds: ['transcript'],
  cache: true,

  async run(segment, config, ctx): Promise<Segment | DropResult> {
    const manifestText = normaliseText(segment.clip.manifest.text ?? '');
    const useManifest =
      config.engine === 'manifest' || (config.engine === 'auto' && manifestText !== '' && clipCoverage(segment) >= config.manifestMinCoverage);

    let transcript: Transcript;
    if (useManifest) {
      if (!manifestText) return drop('no-manifest-text', `clip ${segment.clip.uri} has no manifest text and transcribe.engine is 'manifest'`);
      transcript = { text: manifestText, language: config.language, engine: 'manifest' };
    } else {
      if (!segment.audio) return drop('no-audio', `segment ${segment.index} of ${segment.clip.uri} has no audio to transcribe`);
      transcript = await recognize(segment.audio.key, config, ctx);
    }
    return { ...segment, transcript };
  },
};

async function recognize(audioKey: string, config: TranscribeConfig, ctx: StageContext): Promise<Transcript> {
  if (!isEnglish(config.language)) {
    throw new FatalError(`transcribe.language is '${config.language}' but pocketsphinx only has the en-us model: set language: en, or engine: manifest with manifest text`);
  }
  const wavPath = await ctx.store.localPath(audioKey);
  const logPath = `${await ctx.scratch()}/pocketsphinx.log`;
  ctx.work.add('asr');
  const recognition = await recognizeWithPocketsphinx(wavPath, { signal: ctx.signal, logPath });
  // Word times are seconds from the start of the segment's audio.
  return { text: normaliseText(recognition.text), language: config.language, engine: 'pocketsphinx', words: recognition.words };
}

/** Share of the clip's duration this segment spans; 1 when the clip's duration is unknown. */
function clipCoverage(segment: Segment): number {
  const duration = segment.clip.probe.duration;
  return duration > 0 ? Math.min(1, (segment.end - segment.start) / duration) : 1;
}

function isEnglish(language: string): boolean {
  return /^en(-|$)/.test(language);
}

function normaliseText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
