// translate (optional, after transcribe): the English transcript beside the original, for corpora
// whose speech is not English (the MER pools are Chinese; AffectGPT reads `chinese` and `english`
// subtitles; Emotion-Qwen's VER is bilingual). An English transcript is its own translation (no
// call). Any other is sent to the `translate` role as data; with `polish`, the prompt also repairs
// recognition errors and punctuation as MERTools' polished transcripts do. Only an LLM translates:
// the offline rules teacher answers "untranslated", and the segment goes on with no English rather
// than an invented one (counted under `flagged` in stats.json as untranslated).
import { z } from 'zod';
import type { StageContext } from '../pipelines/stage.ts';
import { generateFor, teacherStage } from '../pipelines/teachers/generate.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';
import { Provenance, type Segment } from '../schemas/records.ts';

const TranslateOutput = z.discriminatedUnion('status', [
  z.object({ status: z.literal('translated'), text: z.string().trim().min(1) }).strict(),
  z.object({ status: z.literal('untranslated'), reason: z.string().trim().min(1) }).strict(),
]);

const TranslateOptions = z
  .object({
    /** Ask for MERTools-style polish (repair recognition errors and punctuation). Default false. */
    polish: z.boolean().default(false),
  })
  .strict();

/** MERTools-style polish: the transcript came from ASR or a subtitle file, so repair what those get wrong. */
const POLISH_INSTRUCTION =
  '- The transcript may come from speech recognition: where a word is plainly misrecognised, translate the word the speaker most likely said, and punctuate the English as spoken (questions, exclamations, pauses as commas).';

export const translateTask = teacherTask({
  role: 'translate',
  output: TranslateOutput,
  options: TranslateOptions,
  promptValues: ({ polish }) => ({ polish: polish ? POLISH_INSTRUCTION : '' }),
  // Offline there is no translator: say so rather than invent one.
  rules: () => ({ status: 'untranslated', reason: 'the offline rules teacher does not translate: map the translate role to an LLM teacher' }),
});

export const TranslateConfig = z
  .object({
    /** Ask the teacher to repair recognition errors and punctuation while translating (MERTools-style polish). Default false. */
    polish: TranslateOptions.shape.polish,
    /** Template id@version; default 'translate.rules@1' (maps to configs/prompts/translate.yaml on LLM teachers). */
    template: Provenance.shape.template.default(translateTask.template),
  })
  .strict();
export type TranslateConfig = z.output<typeof TranslateConfig>;

const isEnglish = (language: string) => /^en(-|$)/i.test(language);

export const translateStage = teacherStage({
  name: 'translate',
  version: 1,
  configSchema: TranslateConfig,
  reads: ['transcript'],
  adds: ['translation'],
  tasks: [translateTask],
  async run(segment: Segment, config: TranslateConfig, ctx: StageContext): Promise<Segment> {
    const transcript = segment.transcript;
    if (!transcript || transcript.text.trim() === '') {
      return { ...segment, translation: { status: 'untranslated', text: null, from: transcript?.language ?? 'und', reason: 'no transcript' } };
    }
    if (isEnglish(transcript.language)) return { ...segment, translation: { status: 'original', text: transcript.text, from: transcript.language } };
    // The corpus's own English (MER's `english` column) for its own transcript: no teacher needed.
    const shipped = segment.clip.manifest.textEn;
    if (shipped && transcript.engine === 'manifest')
      return {
        ...segment,
        translation: {
          status: 'translated',
          text: shipped,
          from: transcript.language,
          provenance: { teacher: 'corpus', model: segment.clip.manifest.labelSource?.corpus ?? 'manifest', template: 'manifest.english@1' },
        },
      };
    const { value, provenance } = await generateFor(ctx, translateTask, config.template, segment, { polish: config.polish });
    if (value.status === 'untranslated') {
      ctx.flag('untranslated', `${segment.clip.uri} [${segment.start}-${segment.end}s] (${transcript.language}): ${value.reason}`);
      return { ...segment, translation: { status: 'untranslated', text: null, from: transcript.language, reason: value.reason, provenance } };
    }
    return { ...segment, translation: { status: 'translated', text: value.text, from: transcript.language, provenance } };
  },
});
