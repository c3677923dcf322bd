// The emotion wheel that open-vocabulary labels are grouped by before a set-level score, as
// AffectGPT / MER-UniBench score OV-MERD (zeroQiaoba/MERTools, MER2025/MER2025_Track23:
// my_affectgpt/evaluation/wheel.py, `func_get_wheel_cluster(wheel='wheel1', level='level1')`).
//
// WHEEL1_LEVEL1 below is the word → group table of `emotion_wheel/wheel1.xlsx` in that repository
// (commit 89120b7, MIT-licensed MERTools), transcribed as data: every level-2 and level-3 word of the
// wheel maps to its level-1 centre (mad, disgusted, sad, happy, surprised, scared). Their benchmark
// averages this over five wheels and first expands words with GPT-generated synonym and word-form
// tables; emoforge uses the one wheel and, for words the wheel does not hold, the project's own
// label normaliser (pipelines/affect/emotion-words.ts: "joy", "glad", "afraid", IEMOCAP codes, …), whose
// seven emotions sit on the wheel's centres. A word neither knows is left out of the set, as
// AffectGPT leaves out words outside its vocabulary.
import type { Emotion, Sentiment } from '../../schemas/emotion.ts';
import { EmotionVocabulary } from '../affect/emotion-words.ts';

export const WHEEL_SOURCE = 'zeroQiaoba/MERTools MER2025/MER2025_Track23/emotion_wheel/wheel1.xlsx, level 1 (AffectGPT / MER-UniBench EW-based metric)';

export const WHEEL_GROUPS = ['mad', 'disgusted', 'sad', 'happy', 'surprised', 'scared'] as const;
export type WheelGroup = (typeof WHEEL_GROUPS)[number];

/** wheel1.xlsx: level-1 centre → its own name, its level-2 and level-3 words, in the sheet's order. */
const WHEEL1_LEVEL1: Readonly<Record<WheelGroup, readonly string[]>> = {
  mad: [
    'mad',
    'offended',
    'skeptical',
    'insulated',
    'aggressive',
    'provoked',
    'hostile',
    'frustrated',
    'annoyed',
    'heated',
    'anger',
    'furious',
    'rage',
    'hateful',
    'resentful',
    'violated',
    'let down',
    'betrayed',
    'disappeared',
    'salty',
    'bitter',
    'not heard',
    'humiliated',
    'ridiculed',
    'embarrassed',
  ],
  disgusted: [
    'disgusted',
    'outraged',
    'loathing',
    'judgmental',
    'awful',
    'uncomfortable',
    'detest',
    'grossed out',
    'appalled',
    'nauseated',
    'avoiding',
    'hesitant',
    'repelled',
  ],
  sad: [
    'sad',
    'hurt',
    'forgotten',
    'disappointed',
    'depressed',
    'empty',
    'undervalued',
    'in my feelings',
    'grief',
    'powerless',
    'guilty',
    'ashamed',
    'remorseful',
    'tired',
    'numb',
    "don't care",
    'lonely',
    'abandoned',
    'left out',
  ],
  happy: [
    'happy',
    'trusting',
    'sensitive',
    'open',
    'joyful',
    'content',
    'relieved',
    'proud',
    'confident',
    'important',
    'accepted',
    'fulfilled',
    'respected',
    'enthusiastic',
    'thrilled',
    'passionate',
    'optimistic',
    'inspired',
    'hopeful',
    'peaceful',
    'thankful',
    'loving',
    'interested',
    'inquisitive',
    'curious',
  ],
  surprised: [
    'surprised',
    'confused',
    'no words',
    'thrown',
    'excited',
    'energetic',
    'eager',
    'amazed',
    'awestruck',
    'astonished',
    'startled',
    'shook',
    'stunned',
  ],
  scared: [
    'scared',
    'fearful',
    'threatened',
    'terrified',
    'insecure',
    'inadequate',
    'inferior',
    'anxious',
    'worried',
    'overwhelmed',
    'rejected',
    'excluded',
    'alienated',
    'weak',
    'vulnerable',
    'worthless',
    'nervous',
    'panicked',
    'uneasy',
  ],
};

const WORD_TO_GROUP: ReadonlyMap<string, WheelGroup> = new Map(WHEEL_GROUPS.flatMap((group) => WHEEL1_LEVEL1[group].map((word) => [word, group] as const)));

/** Where the normaliser's emotions sit on the wheel; neutral has no place (an empty set is neutral). */
const EMOTION_GROUP: Readonly<Record<Emotion, WheelGroup | null>> = {
  happy: 'happy',
  sad: 'sad',
  angry: 'mad',
  fearful: 'scared',
  surprised: 'surprised',
  disgusted: 'disgusted',
  neutral: null,
};

/** The sentiment of a wheel centre (surprise can go either way, so it casts no vote). */
const GROUP_SENTIMENT: Readonly<Record<WheelGroup, Sentiment | null>> = {
  happy: 'positive',
  mad: 'negative',
  disgusted: 'negative',
  sad: 'negative',
  scared: 'negative',
  surprised: null,
};

const vocabulary = new EmotionVocabulary();

/** Lower case, typographic apostrophes straightened, quotes and end punctuation dropped, spaces single. */
export function normaliseLabelWord(word: string): string {
  return word
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/^[\s"'`[(]+|[\s"'`\].,;:!?)]+$/g, '')
    .replace(/[\s_]+/g, ' ')
    .trim();
}

/** The wheel centre a label word belongs to, or null when neither the wheel nor the normaliser knows it. */
export function wheelGroupOf(word: string): WheelGroup | null {
  const normal = normaliseLabelWord(word);
  if (!normal) return null;
  const direct = WORD_TO_GROUP.get(normal);
  if (direct) return direct;
  const emotion = vocabulary.emotionOf(normal);
  return emotion ? EMOTION_GROUP[emotion] : null;
}

/** A label list as the set of wheel centres it names (unknown words and neutral left out). */
export function wheelSet(words: readonly string[]): Set<WheelGroup> {
  const groups = new Set<WheelGroup>();
  for (const word of words) {
    const group = wheelGroupOf(word);
    if (group) groups.add(group);
  }
  return groups;
}

/** Words of a free-text open-vocabulary answer: a comma/semicolon/newline list, an optional Python-style list. */
export function labelWords(answer: string): string[] {
  const body = answer.trim().replace(/^\[|\]$/g, '');
  return body
    .split(/[,;\n]|\band\b/)
    .map(normaliseLabelWord)
    .filter((w) => w.length > 0);
}

/**
 * The sentiment an open set expresses (AffectGPT's second, sentiment-level score): the majority of
 * its centres' sentiments; a tie, an empty set or a set of surprise only is neutral.
 */
export function sentimentOfSet(groups: ReadonlySet<WheelGroup>): Sentiment {
  let balance = 0;
  for (const group of groups) {
    const s = GROUP_SENTIMENT[group];
    if (s === 'positive') balance++;
    if (s === 'negative') balance--;
  }
  return balance > 0 ? 'positive' : balance < 0 ? 'negative' : 'neutral';
}
