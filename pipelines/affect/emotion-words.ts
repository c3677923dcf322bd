// The one label normaliser: the words manifests, corpus codes, open-vocabulary labels and rationales
// use for an emotion, mapped onto EMOTIONS in one table. A config may add to it or override entries
// (`filter.consistency.synonyms`); cues.agreement and the filter read a manifest label through it.
import { EMOTIONS, type Emotion, type Sentiment } from '../../schemas/emotion.ts';

/**
 * Label spellings of the common corpora (MELD, IEMOCAP abbreviations, CREMA-D, MER2023, RAVDESS
 * words) and the open-vocabulary words teachers write, by emotion. A word belongs to one emotion
 * only: "excited" is happy (IEMOCAP merges it into happy), "frustrated" angry, "worried" fearful.
 */
const WORDS: Readonly<Record<Emotion, readonly string[]>> = {
  happy: [
    'happy',
    'happiness',
    'hap',
    'joy',
    'joyful',
    'joyous',
    'excited',
    'exc',
    'excitement',
    'glad',
    'cheerful',
    'content',
    'pleased',
    'delighted',
    'elated',
    'amused',
    'grateful',
  ],
  sad: [
    'sad',
    'sadness',
    'unhappy',
    'upset',
    'distressed',
    'disappointed',
    'downcast',
    'depressed',
    'sorrowful',
    'gloomy',
    'miserable',
    'heartbroken',
    'grief',
    'lonely',
  ],
  angry: ['angry', 'anger', 'ang', 'mad', 'furious', 'frustrated', 'fru', 'frustration', 'irritated', 'annoyed', 'enraged', 'hostile', 'outraged', 'rage'],
  fearful: ['fearful', 'fear', 'fea', 'afraid', 'scared', 'frightened', 'terrified', 'panicked', 'anxious', 'anxiety', 'worried', 'worry', 'nervous'],
  surprised: ['surprised', 'surprise', 'sur', 'astonished', 'amazed', 'shocked', 'startled', 'stunned', 'puzzled', 'curious'],
  disgusted: ['disgusted', 'disgust', 'dis', 'repulsed', 'revolted', 'disdainful', 'contempt', 'displeased'],
  neutral: ['neutral', 'neu', 'calm', 'none', 'no emotion'],
};

/** The default map, word → emotion (lower case). */
export const DEFAULT_EMOTION_SYNONYMS: Readonly<Record<string, Emotion>> = Object.fromEntries(
  EMOTIONS.flatMap((emotion) => WORDS[emotion].map((word) => [word, emotion] as const)),
);

/** Nouns the teachers use for an emotion in running text ("which expresses happiness"). */
const NOUNS: Readonly<Record<string, Emotion>> = {
  happiness: 'happy',
  sadness: 'sad',
  anger: 'angry',
  fear: 'fearful',
  surprise: 'surprised',
  disgust: 'disgusted',
  calm: 'neutral',
};

/** Where an emotion sits on the sentiment axis; surprise can be either, so it casts no sentiment vote. */
export const EMOTION_SENTIMENT: Readonly<Record<Emotion, Sentiment | null>> = {
  happy: 'positive',
  sad: 'negative',
  angry: 'negative',
  fearful: 'negative',
  disgusted: 'negative',
  neutral: 'neutral',
  surprised: null,
};

/**
 * Label words that mean something else in running text ("none of the frames", "the content of the
 * speech") or are only label codes: they name an emotion in a label, never in a sentence.
 */
const LABEL_ONLY = new Set(['none', 'no emotion', 'content', 'curious', 'worry', 'grief', 'rage', 'hap', 'exc', 'ang', 'fru', 'fea', 'sur', 'dis', 'neu']);

export class EmotionVocabulary {
  private readonly words: ReadonlyMap<string, Emotion>;
  private readonly textWords: ReadonlyMap<string, Emotion>;

  constructor(extra: Readonly<Record<string, Emotion>> = {}) {
    const words = new Map<string, Emotion>(Object.entries({ ...NOUNS, ...DEFAULT_EMOTION_SYNONYMS }));
    this.textWords = new Map([...words].filter(([word]) => !LABEL_ONLY.has(word)));
    for (const [word, emotion] of Object.entries(extra)) words.set(normaliseWord(word), emotion);
    this.words = words;
  }

  /** The emotion a label or word names, or null when the vocabulary does not know it. */
  emotionOf(word: string): Emotion | null {
    return this.words.get(normaliseWord(word)) ?? null;
  }

  /** Every emotion a sentence names (label codes and ambiguous words aside), in order of appearance, once each. */
  emotionsIn(text: string): Emotion[] {
    const found: Emotion[] = [];
    for (const token of text.toLowerCase().match(/[a-z]+/g) ?? []) {
      const emotion = this.textWords.get(token);
      if (emotion && !found.includes(emotion)) found.push(emotion);
    }
    return found;
  }
}

function normaliseWord(word: string): string {
  return word
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ');
}
