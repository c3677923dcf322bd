// cues.lexical: what the words say — AFINN sentiment (npm `sentiment`) and emotion words from a
// small lexicon written here. Both are English: a transcript in another language is scored through
// its English translation (stage `translate`) when there is one, and otherwise the segment goes on
// without lexical cues, flagged `unsupported-language`, rather than with a misleading "neutral".
import Sentiment from 'sentiment';
import { z } from 'zod';
import { textEvidence } from '../../pipelines/affect/evidence.ts';
import { drop, type DropResult, type SegmentStage } from '../../pipelines/stage.ts';
import { LexicalCues } from '../../schemas/cues.ts';
import type { Emotion } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import type { CueDescriptor } from './cues.ts';

const LexicalConfig = z
  .object({
    /** Scores with |score| below this are neutral (a lone mild word in a long sentence is not a sentiment). Default 0.1. */
    neutralBand: z.number().min(0).max(1).default(0.1),
  })
  .strict();
export type LexicalConfig = z.infer<typeof LexicalConfig>;

/**
 * score = tanh(SCORE_GAIN * comparative), comparative = AFINN sum / token count (AFINN words score
 * -5..5). The gain maps typical sentences into the useful range: one "happy" (+3) in an 8-word
 * sentence gives tanh(0.75) = 0.64; "I am not happy" gives -0.91; one "nice" (+3) in 41 words, 0.15.
 */
const SCORE_GAIN = 2;

const analyser = new Sentiment();

export const cuesLexical: SegmentStage<LexicalConfig> = {
  kind: 'segment',
  name: 'cues.lexical',
  version: 2,
  configSchema: LexicalConfig,
  reads: ['transcript'],
  adds: ['cues.lexical'],
  cache: false,

  async run(segment, config, ctx): Promise<Segment | DropResult> {
    const transcript = segment.transcript;
    if (!transcript) return drop('no-transcript', `segment ${segment.index} of ${segment.clip.uri} has no transcript`);
    if (/^en(-|$)/i.test(transcript.language)) return { ...segment, cues: { ...segment.cues, lexical: lexicalCues(transcript.text, config) } };
    const english = segment.translation?.status === 'translated' ? segment.translation.text : null;
    if (english) return { ...segment, cues: { ...segment.cues, lexical: { ...lexicalCues(english, config), source: 'translation' } } };
    ctx.flag(
      'unsupported-language',
      `${segment.clip.uri}: cues.lexical reads English; the transcript is '${transcript.language}' and has no English translation (add the translate stage with an LLM teacher)`,
    );
    return segment;
  },
};

export function lexicalCues(text: string, config: LexicalConfig): LexicalCues {
  const result = analyser.analyze(text);
  const score = Math.tanh(SCORE_GAIN * result.comparative);
  const sentiment = score >= config.neutralBand ? 'positive' : score <= -config.neutralBand ? 'negative' : 'neutral';
  // sentiment walks tokens from the end; the cues list words in reading order, once each.
  return LexicalCues.parse({
    score: Math.round(score * 1000) / 1000,
    sentiment,
    positiveWords: unique([...result.positive].reverse()),
    negativeWords: unique([...result.negative].reverse()),
    emotionWords: findEmotionWords(text),
  });
}

// ---------------------------------------------------------------------------------------------
// Emotion lexicon. Entries are stems; inflections (miss → missed, lonely → loneliness, scare →
// scared, sad → sadder, cry → cried) are generated below, so the lists stay short and readable.

const LEXICON: Record<Exclude<Emotion, 'neutral'>, string[]> = {
  happy: [
    'happy',
    'joy',
    'glad',
    'delight',
    'cheer',
    'smile',
    'laugh',
    'love',
    'wonderful',
    'great',
    'excite',
    'thrill',
    'laughter',
    'yay',
    'hooray',
    'awesome',
    'fantastic',
    'celebrate',
    'celebration',
    'grateful',
    'thankful',
    'pleased',
    'enjoy',
    'fun',
    'hopeful',
    'proud',
    'lucky',
    'amazing',
    'brilliant',
    'beautiful',
    'perfect',
  ],
  sad: [
    'sad',
    'unhappy',
    'lonely',
    'alone',
    'miss',
    'cry',
    'tears',
    'sob',
    'sorrow',
    'grief',
    'grieve',
    'mourn',
    'depress',
    'depression',
    'heartbroken',
    'heartbreak',
    'gloomy',
    'miserable',
    'misery',
    'upset',
    'hurt',
    'regret',
    'disappoint',
    'hopeless',
    'despair',
  ],
  angry: [
    'angry',
    'anger',
    'furious',
    'fury',
    'mad',
    'rage',
    'hate',
    'annoy',
    'irritate',
    'outrage',
    'livid',
    'resent',
    'frustrate',
    'frustration',
    'irritation',
    'pissed',
    'hostile',
    'unfair',
    'ridiculous',
    'sick of',
    'fed up',
  ],
  surprised: ['wow', 'whoa', 'omg', 'surprise', 'amaze', 'astonish', 'shock', 'stun', 'startle', 'unbelievable', 'incredible', 'unexpected'],
  fearful: [
    'scare',
    'afraid',
    'fear',
    'terrify',
    'terror',
    'frighten',
    'panic',
    'panicked',
    'nervous',
    'anxious',
    'anxiety',
    'worry',
    'dread',
    'horror',
    'horrify',
    'creepy',
    'danger',
    'threat',
    'tremble',
  ],
  disgusted: [
    'disgust',
    'gross',
    'yuck',
    'eww',
    'ew',
    'nasty',
    'revolting',
    'vile',
    'repulsive',
    'repulse',
    'filthy',
    'stink',
    'rotten',
    'nauseate',
    'nauseous',
    'sickening',
    'sickened',
    'ugh',
  ],
};

// No -ion: miss + ion is "mission". Nouns in -ion are listed as words instead.
const SUFFIXES = ['s', 'es', 'ed', 'ing', 'er', 'est', 'ly', 'ness', 'ful', 'fully', 'ment', 'y', 'ous'];
const VOWEL_SUFFIXES = SUFFIXES.filter((suffix) => /^[aeiouy]/.test(suffix));

/** Inflected forms of a stem: plain suffixes, e-drop (scare → scaring), y → i (lonely → loneliness), consonant doubling (sad → sadder). */
function inflections(stem: string): string[] {
  const forms = [stem, ...SUFFIXES.map((suffix) => stem + suffix)];
  if (stem.endsWith('e')) forms.push(`${stem}d`, ...VOWEL_SUFFIXES.map((suffix) => stem.slice(0, -1) + suffix));
  if (/[^aeiou]y$/.test(stem)) forms.push(...['es', 'ed', 'er', 'est', 'ly', 'ness', 'ful'].map((suffix) => `${stem.slice(0, -1)}i${suffix}`));
  if (/(^|[^aeiou])[aeiou][bdgklmnprt]$/.test(stem)) forms.push(...VOWEL_SUFFIXES.map((suffix) => stem + stem.at(-1) + suffix));
  return forms;
}

/** Single-word forms → emotion; the first list a form appears in wins. */
const EMOTION_BY_WORD = new Map<string, Exclude<Emotion, 'neutral'>>();
/** Two-word phrases ("fed up") → emotion. */
const EMOTION_BY_PHRASE = new Map<string, Exclude<Emotion, 'neutral'>>();
for (const [emotion, stems] of Object.entries(LEXICON) as [Exclude<Emotion, 'neutral'>, string[]][]) {
  for (const stem of stems) {
    if (stem.includes(' ')) {
      if (!EMOTION_BY_PHRASE.has(stem)) EMOTION_BY_PHRASE.set(stem, emotion);
      continue;
    }
    for (const form of inflections(stem)) if (!EMOTION_BY_WORD.has(form)) EMOTION_BY_WORD.set(form, emotion);
  }
}

const NEGATORS = new Set(['not', 'no', 'never', 'nothing', 'nobody', 'none', 'neither', 'nor', 'hardly', 'without', 'cannot']);
/** How many tokens back a negator reaches: "not happy", "not very happy". */
const NEGATION_REACH = 2;

/**
 * Emotion words in reading order, once per (word, emotion). A negated word ("not happy", "don't
 * worry") is skipped: it does not point to its emotion, and guessing the opposite is not our job.
 */
export function findEmotionWords(text: string): { word: string; emotion: Emotion }[] {
  const tokens =
    text
      .toLowerCase()
      .replace(/[’‘]/g, "'")
      .match(/[a-z]+(?:'[a-z]+)*/g) ?? [];
  const found: { word: string; emotion: Emotion }[] = [];
  const seen = new Set<string>();
  const negated = (index: number) => tokens.slice(Math.max(0, index - NEGATION_REACH), index).some((token) => NEGATORS.has(token) || token.endsWith("n't"));
  const add = (word: string, emotion: Emotion) => {
    const key = `${word}\u0000${emotion}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push({ word, emotion });
  };
  for (let i = 0; i < tokens.length; i++) {
    const phrase = i + 1 < tokens.length ? `${tokens[i]} ${tokens[i + 1]}` : '';
    const phraseEmotion = phrase ? EMOTION_BY_PHRASE.get(phrase) : undefined;
    if (phraseEmotion) {
      if (!negated(i)) add(phrase, phraseEmotion);
      i++;
      continue;
    }
    const emotion = EMOTION_BY_WORD.get(tokens[i]);
    if (emotion && !negated(i)) add(tokens[i], emotion);
  }
  return found;
}

function unique(words: string[]): string[] {
  return [...new Set(words)];
}

export const lexicalCue: CueDescriptor<'lexical', typeof LexicalCues> = {
  key: 'lexical',
  stage: cuesLexical,
  schema: LexicalCues,
  modality: 'text',
  prompt: {
    key: 'text',
    view: (lexical) =>
      lexical
        ? {
            sentiment: lexical.sentiment,
            score: lexical.score,
            positiveWords: lexical.positiveWords,
            negativeWords: lexical.negativeWords,
            emotionWords: lexical.emotionWords,
          }
        : null,
  },
  citable: (lexical) => [{ unit: 'none', values: [lexical.score, lexical.positiveWords.length, lexical.negativeWords.length, lexical.emotionWords.length] }],
  evidence: (lexical, segment) => textEvidence(lexical, segment.transcript?.text ?? ''),
};
