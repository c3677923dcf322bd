// filter: rule filters over a segment. Each rule that fails drops the segment with its own reason,
// which becomes a counter in stats.json and a row in rejects.parquet; the first failing rule wins.
// Rules, in order: required fields, duration, language, transcript / description / answer length,
// refusals, boilerplate, repetition, label consistency, speaker visible, rationale grounding. Rules over a field the
// record lacks do not apply (requiredFields is how to demand one). Corpus-wide rules (length tails,
// label caps) are the global stage filter.corpus.
import { z } from 'zod';
import { drop, type DropResult, type SegmentStage, type StageContext } from '../pipelines/stage.ts';
import type { Segment } from '../schemas/records.ts';
import { checkConsistency, ConsistencyConfig } from './filter/consistency.ts';
import { EmotionVocabulary } from '../pipelines/affect/emotion-words.ts';
import { fieldPathProblem, hasField } from './filter/field-paths.ts';
import {
  compilePatterns,
  DEFAULT_BOILERPLATE_PATTERNS,
  DEFAULT_REFUSAL_PATTERNS,
  findPhrase,
  generatedTexts,
  repetition,
  repetitionUnits,
  wordCount,
} from './filter/generated-text.ts';
import { groundRationale, GroundingConfig, PatternSource } from './filter/grounding.ts';

const FieldPath = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    const problem = fieldPathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const RepetitionConfig = z
  .object({
    /** Word n-gram length. Default 3. */
    n: z.number().int().min(1).default(3),
    /** Drop (repetitive-text) when more than this share of a text's n-grams occur more than once in it. Default 0.5. */
    maxRatio: z.number().min(0).max(1).default(0.5),
    /** Texts with fewer words are not judged. Default 20. */
    minWords: z.number().int().min(1).default(20),
  })
  .strict();

const FilterConfig = z
  .object({
    /** Segments shorter than this are dropped (too-short). */
    minDurationSec: z.number().nonnegative().default(0.5),
    /** Segments longer than this are dropped (too-long). */
    maxDurationSec: z.number().positive().default(60),
    /** Drop segments whose transcript is empty (empty-transcript). */
    requireTranscript: z.boolean().default(true),
    /** Fewer words than this → transcript-too-short. */
    minTranscriptWords: z.number().int().nonnegative().default(1),
    /** More characters than this → transcript-too-long. */
    maxTranscriptChars: z.number().int().positive().default(2000),
    /** Description length bounds in characters (description-too-short / description-too-long). */
    minDescriptionChars: z.number().int().nonnegative().default(20),
    maxDescriptionChars: z.number().int().positive().default(4000),
    /** QA answer length bounds in characters (answer-too-short / answer-too-long); an MCQ answer is one label. */
    minAnswerChars: z.number().int().nonnegative().default(1),
    maxAnswerChars: z.number().int().positive().default(2000),
    /** Transcript languages allowed (ISO 639-1 or BCP-47, compared by primary subtag; 'und' = undetermined). Empty = any. */
    languages: z.array(z.string().regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/, 'use a language tag such as en, en-GB or und')).default([]),
    /** Dotted fields every kept segment must have (missing-field), e.g. [description, labels.primary, qa.answer]. */
    requiredFields: z.array(FieldPath).default([]),
    /** Regular expressions (case-insensitive) added to the refusal phrases (refusal-text). */
    refusalPatterns: z.array(PatternSource).default([]),
    /** Regular expressions added to the chat-boilerplate phrases (teacher-boilerplate). */
    boilerplatePatterns: z.array(PatternSource).default([]),
    /** Degenerate repetition in generated text (repetitive-text); maxRatio 1 turns it off. */
    repetition: RepetitionConfig.prefault({}),
    /** Label consistency checks (label-mismatch-manifest, label-mismatch-cues); all off by default. */
    consistency: ConsistencyConfig.prefault({}),
    /**
     * MER-Caption's low-level rule (speaker-not-visible): keep a segment only when cues.visual found
     * the speaking face, with at least `minConfidence`. `true` = on with the stage's own threshold
     * (a speaker it names already passed cues.visual.speaker.minConfidence). Default off.
     */
    speakerVisible: z
      .preprocess(
        (value) => (typeof value === 'boolean' ? { enabled: value } : value),
        z.object({ enabled: z.boolean().default(true), minConfidence: z.number().min(0).max(1).default(0) }).strict(),
      )
      .prefault({ enabled: false }),
    /** Rationale grounding (ungrounded-rationale): drop | flag | off, or an object with mode and tolerances. */
    grounding: z.preprocess((value) => (typeof value === 'string' ? { mode: value } : value), GroundingConfig).prefault({}),
  })
  .strict()
  .refine((c) => c.minDurationSec < c.maxDurationSec, { message: 'minDurationSec must be below maxDurationSec', path: ['minDurationSec'] })
  .refine((c) => c.minDescriptionChars < c.maxDescriptionChars, {
    message: 'minDescriptionChars must be below maxDescriptionChars',
    path: ['minDescriptionChars'],
  })
  .refine((c) => c.minAnswerChars < c.maxAnswerChars, { message: 'minAnswerChars must be below maxAnswerChars', path: ['minAnswerChars'] });
export type FilterConfig = z.infer<typeof FilterConfig>;

/** What a config compiles to once: patterns and the emotion vocabulary. */
interface Compiled {
  readonly refusals: RegExp[];
  readonly boilerplate: RegExp[];
  readonly vocabulary: EmotionVocabulary;
}

type Rule = (segment: Segment, config: FilterConfig, compiled: Compiled) => DropResult | undefined;

const RULES: Rule[] = [
  (s, c) => {
    const missing = c.requiredFields.filter((path) => !hasField(s, path));
    return missing.length ? drop('missing-field', `missing or empty: ${missing.join(', ')}`) : undefined;
  },
  (s, c) => {
    const duration = s.end - s.start;
    if (duration < c.minDurationSec) return drop('too-short', `${duration.toFixed(2)}s < minDurationSec ${c.minDurationSec}`);
    if (duration > c.maxDurationSec) return drop('too-long', `${duration.toFixed(2)}s > maxDurationSec ${c.maxDurationSec}`);
    return undefined;
  },
  (s, c) => {
    if (c.languages.length === 0 || !s.transcript) return undefined;
    const primary = (tag: string) => tag.split('-')[0].toLowerCase();
    const language = s.transcript.language;
    if (c.languages.some((allowed) => primary(allowed) === primary(language))) return undefined;
    return drop(
      'language-not-allowed',
      `transcript language '${language}' (${s.transcript.languageSource ?? 'unknown source'}) is not in languages [${c.languages.join(', ')}]`,
    );
  },
  (s, c) => {
    const text = s.transcript?.text.trim() ?? '';
    if (!text) return c.requireTranscript ? drop('empty-transcript', `the ${s.transcript?.engine ?? 'missing'} transcript is empty`) : undefined;
    const words = text.split(/\s+/).length;
    if (words < c.minTranscriptWords) return drop('transcript-too-short', `${words} words < minTranscriptWords ${c.minTranscriptWords}`);
    if (text.length > c.maxTranscriptChars) return drop('transcript-too-long', `${text.length} chars > maxTranscriptChars ${c.maxTranscriptChars}`);
    return undefined;
  },
  (s, c) => {
    if (!s.description) return undefined;
    const length = s.description.text.trim().length;
    if (length < c.minDescriptionChars) return drop('description-too-short', `${length} chars < minDescriptionChars ${c.minDescriptionChars}`);
    if (length > c.maxDescriptionChars) return drop('description-too-long', `${length} chars > maxDescriptionChars ${c.maxDescriptionChars}`);
    return undefined;
  },
  (s, c) => {
    for (const [i, item] of (s.qa ?? []).entries()) {
      const length = item.answer.trim().length;
      if (length < c.minAnswerChars) return drop('answer-too-short', `qa[${i}] (${item.kind}) answer ${length} chars < minAnswerChars ${c.minAnswerChars}`);
      if (length > c.maxAnswerChars) return drop('answer-too-long', `qa[${i}] (${item.kind}) answer ${length} chars > maxAnswerChars ${c.maxAnswerChars}`);
    }
    return undefined;
  },
  (s, _c, compiled) => {
    const hit = findPhrase(generatedTexts(s), compiled.refusals, s.transcript?.text ?? '');
    return hit ? drop('refusal-text', `${hit.field} says "${hit.phrase}" (pattern /${hit.pattern}/)`) : undefined;
  },
  (s, _c, compiled) => {
    const hit = findPhrase(generatedTexts(s), compiled.boilerplate, s.transcript?.text ?? '');
    return hit ? drop('teacher-boilerplate', `${hit.field} says "${hit.phrase}" (pattern /${hit.pattern}/)`) : undefined;
  },
  (s, { repetition: r }) => {
    for (const unit of repetitionUnits(s)) {
      if (wordCount(unit.text) < r.minWords) continue;
      const measured = repetition(unit.text, r.n);
      if (measured.ratio > r.maxRatio) {
        const top = measured.top ? `; most repeated: '${measured.top.ngram}' ×${measured.top.count}` : '';
        return drop(
          'repetitive-text',
          `${unit.field}: ${measured.ratio.toFixed(2)} of its ${measured.ngrams} word ${r.n}-grams repeat (maxRatio ${r.maxRatio})${top}`,
        );
      }
    }
    return undefined;
  },
  (s, c, compiled) => checkConsistency(s, c.consistency, compiled.vocabulary),
  (s, { speakerVisible: rule }) => {
    if (!rule.enabled) return undefined;
    const speaker = s.cues?.visual?.speaker;
    if (!speaker) return drop('speaker-not-visible', 'cues.visual recorded no speaker analysis (a record from cues.visual 1, or a clip without video)');
    const scores = speaker.scores.map((t) => `${t.track} r=${t.correlation} coverage=${t.coverage} motion=${t.mouthMotion}`).join('; ');
    const tracks = s.cues!.visual!.tracks?.length ?? 0;
    if (speaker.track === null)
      return drop(
        'speaker-not-visible',
        `no speaking face among ${tracks} face track${tracks === 1 ? '' : 's'} (${speaker.method}, confidence ${speaker.confidence}${scores ? `; ${scores}` : ''})`,
      );
    if (speaker.confidence < rule.minConfidence)
      return drop(
        'speaker-not-visible',
        `speaker ${speaker.track} found with confidence ${speaker.confidence} < speakerVisible.minConfidence ${rule.minConfidence}`,
      );
    return undefined;
  },
];

/**
 * What the enabled rules read, so planning refuses a filter whose rules could never apply (placed
 * before `labels`, or `consistency.teacher` without `crosscheck`) instead of letting them pass every
 * segment. Length and phrase rules judge what a segment has and demand nothing (requiredFields does).
 */
function filterReads(config: FilterConfig): string[] {
  const reads = new Set(['transcript']);
  const { consistency: c } = config;
  if (c.manifest || c.teacher || c.cues !== 'off' || c.sentiment !== 'off') reads.add('labels');
  if (c.teacher) reads.add('crosscheck');
  if (c.cues !== 'off' || c.sentiment !== 'off') reads.add('cues.agreement');
  if (config.grounding.mode !== 'off') reads.add('rationale');
  if (config.speakerVisible.enabled) reads.add('cues.visual');
  return [...reads];
}

/** How many grounding problems a detail lists before "and N more". */
const DETAIL_ISSUES = 3;

export const filter: SegmentStage<FilterConfig> = {
  kind: 'segment',
  name: 'filter',
  // 2: answer length, language, required fields, refusal / boilerplate / repetition, label consistency and rationale grounding.
  // 3: speakerVisible.
  version: 3,
  configSchema: FilterConfig,
  reads: ['transcript'],
  readsFor: filterReads,
  adds: [],
  cache: false,

  async run(segment, config, ctx: StageContext) {
    const compiled = compile(config);
    for (const rule of RULES) {
      const verdict = rule(segment, config, compiled);
      if (verdict) return verdict;
    }
    if (config.grounding.mode === 'off') return segment;
    const issues = groundRationale(segment, config.grounding, compiled.vocabulary);
    if (issues.length === 0) return segment;
    const shown = issues.slice(0, DETAIL_ISSUES).map((issue) => `step ${issue.step} ${issue.why}`);
    if (issues.length > DETAIL_ISSUES) shown.push(`and ${issues.length - DETAIL_ISSUES} more`);
    const detail = shown.join('; ');
    if (config.grounding.mode === 'drop') return drop('ungrounded-rationale', detail);
    ctx.flag('ungrounded-rationale', `segment ${segment.id}: ${detail}`);
    return segment;
  },
};

const compiledByConfig = new WeakMap<FilterConfig, Compiled>();

/** Patterns compiled once per config object (the runner hands every record the same one). */
function compile(config: FilterConfig): Compiled {
  let compiled = compiledByConfig.get(config);
  if (!compiled) {
    compiled = {
      refusals: compilePatterns([...DEFAULT_REFUSAL_PATTERNS, ...config.refusalPatterns]),
      boilerplate: compilePatterns([...DEFAULT_BOILERPLATE_PATTERNS, ...config.boilerplatePatterns]),
      vocabulary: new EmotionVocabulary(config.consistency.synonyms),
    };
    compiledByConfig.set(config, compiled);
  }
  return compiled;
}
