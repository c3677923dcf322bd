// Per-modality evidence: each measured cue as a citable finding and the emotions it points to. The
// estimator (estimate.ts) adds the weights up; the rules teacher cites the findings, so every
// sentence it writes states a value the record holds.
import type { AcousticCues, LexicalCues, VisualCues } from '../../schemas/cues.ts';
import { EMOTIONS, type Emotion } from '../../schemas/emotion.ts';
import type { ProsodyReading } from './prosody.ts';

/** The three modalities a clip speaks in, in the order MER-Caption cites them. */
export const MODALITIES = ['video', 'audio', 'text'] as const;
export type Modality = (typeof MODALITIES)[number];

/** One measured cue and the emotions it points to. */
export interface EmotionEvidence {
  readonly modality: Modality;
  /** What was measured, as an id (face-expression, f0-level, loudness, …). */
  readonly cue: string;
  /** What the cue is called when an answer names it ("The pitch level"). */
  readonly name: string;
  /** A sentence stating the measured value, ready to cite ("The mean pitch is 252 Hz, high for adult speech"). */
  readonly finding: string;
  /** How much the cue adds to each emotion's score. */
  readonly weights: Readonly<Partial<Record<Emotion, number>>>;
}

/** A face's expression counts this much at most (times its mean probability and stability). */
const FACE_WEIGHT = 1.0;
/** Below this mean probability the dominant expression is too uncertain to cite as evidence. */
export const FACE_MIN_PROBABILITY = 0.4;
/** Lexical sentiment |score| at or above this counts as emotional wording; 0.5 and up is strong. */
const SENTIMENT_MILD = 0.2;
const SENTIMENT_STRONG = 0.5;
/** One emotion word counts this much for its emotion, at most twice per emotion. */
const EMOTION_WORD_WEIGHT = 1.0;
const EMOTION_WORD_CAP = 2.0;

/** The noun running text uses for each emotion ("which expresses happiness"). */
const EMOTION_NOUN: Record<Emotion, string> = {
  happy: 'happiness',
  sad: 'sadness',
  angry: 'anger',
  fearful: 'fear',
  surprised: 'surprise',
  disgusted: 'disgust',
  neutral: 'calm',
};

export function hz(value: number): string {
  return `${Math.round(value)} Hz`;
}

function signed(score: number): string {
  const fixed = score.toFixed(2);
  return score > 0 ? `+${fixed}` : fixed === '-0.00' ? '0.00' : fixed;
}

function quote(words: readonly string[]): string {
  return words.map((w) => `'${w}'`).join(', ');
}

/** Lexical words that really occur in the transcript (only those may be quoted). */
function wordsInTranscript(words: readonly string[], transcript: string): string[] {
  const text = transcript.toLowerCase();
  const seen = new Set<string>();
  for (const word of words) {
    const w = word.toLowerCase();
    if (w && text.includes(w)) seen.add(w);
  }
  return [...seen];
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100 + 0; // + 0 turns -0 into 0
}

/** The face's dominant expression, when it is clear enough to cite. */
export function videoEvidence(visual: VisualCues): EmotionEvidence[] {
  if (!visual.dominant || !visual.meanExpressions) return [];
  const probability = visual.meanExpressions[visual.dominant] ?? 0;
  if (probability < FACE_MIN_PROBABILITY) return [];
  const withFace = visual.frames.filter((f) => f.faces > 0).length;
  const finding = `The face reads as ${visual.dominant} (mean probability ${probability.toFixed(2)}) in ${withFace} of ${visual.frames.length} keyframes, stable in ${Math.round(visual.stability * 100)}% of them`;
  return [
    {
      modality: 'video',
      cue: 'face-expression',
      name: 'The facial expression',
      finding,
      weights: { [visual.dominant]: round2(FACE_WEIGHT * probability * visual.stability) },
    },
  ];
}

/** Pitch level and spread, loudness, pace and pauses, each against the absolute thresholds. */
export function audioEvidence(p: ProsodyReading): EmotionEvidence[] {
  const a: AcousticCues = p.acoustic;
  const out: EmotionEvidence[] = [];
  const audio = (cue: string, name: string, finding: string, weights: EmotionEvidence['weights']) =>
    out.push({ modality: 'audio', cue, name, finding, weights });
  if (p.f0Mean !== null && p.pitch) {
    const range = a.f0MinHz !== null && a.f0MaxHz !== null ? ` (range ${Math.round(a.f0MinHz)}–${hz(a.f0MaxHz)})` : '';
    const base = `The mean pitch is ${hz(p.f0Mean)}${range}`;
    const level = 'The pitch level';
    if (p.pitch === 'very-high') audio('f0-level', level, `${base}, very high for adult speech`, { fearful: 0.9, surprised: 0.7, happy: 0.4, angry: 0.2 });
    else if (p.pitch === 'high') audio('f0-level', level, `${base}, high for adult speech`, { happy: 0.8, surprised: 0.5, fearful: 0.5, angry: 0.3 });
    else if (p.pitch === 'low') audio('f0-level', level, `${base}, low for adult speech`, { sad: 0.8, neutral: 0.2 });
    else audio('f0-level', level, `${base}, in the ordinary speaking range`, { neutral: 0.3 });
  }
  if (p.spread === 'flat' || p.spread === 'lively') {
    const measure =
      a.f0SdHz !== null && p.f0Mean !== null ? `a pitch SD of ${hz(a.f0SdHz)}` : `a pitch range of ${Math.round(a.f0MinHz ?? 0)}–${hz(a.f0MaxHz ?? 0)}`;
    if (p.spread === 'flat') audio('f0-spread', 'The intonation', `The intonation is flat, with ${measure}`, { sad: 0.4, neutral: 0.3 });
    else audio('f0-spread', 'The intonation', `The intonation is lively, with ${measure}`, { surprised: 0.5, happy: 0.3, angry: 0.2 });
  }
  const level = `${Math.round(a.rmsDb)} dBFS`;
  const loudness = 'The loudness of the voice';
  if (p.loudness === 'loud') audio('loudness', loudness, `The voice is loud, at a mean level of ${level}`, { angry: 1.0, happy: 0.3, surprised: 0.2 });
  else if (p.loudness === 'quiet') audio('loudness', loudness, `The voice is quiet, at a mean level of ${level}`, { sad: 0.5, fearful: 0.3, neutral: 0.2 });
  const rate = `${a.speechRate.toFixed(1)} ${p.rateUnit}`;
  if (p.rate === 'fast') audio('speech-rate', 'The speaking rate', `The speech is fast, at ${rate}`, { angry: 0.5, fearful: 0.4, happy: 0.3, surprised: 0.2 });
  else if (p.rate === 'slow') audio('speech-rate', 'The speaking rate', `The speech is slow, at ${rate}`, { sad: 0.7, neutral: 0.1 });
  if (p.halting) audio('pauses', 'The pauses', `Pauses fill ${Math.round(a.pauseRatio * 100)}% of the segment`, { sad: 0.3, fearful: 0.2 });
  return out;
}

/** Emotion words of the transcript and the sentiment of its wording; none without words. */
export function textEvidence(lexical: LexicalCues, transcript: string): EmotionEvidence[] {
  if (transcript.trim() === '') return [];
  const out: EmotionEvidence[] = [];

  const byEmotion = new Map<Emotion, string[]>();
  for (const { word, emotion } of lexical.emotionWords) {
    if (wordsInTranscript([word], transcript).length === 0) continue;
    const list = byEmotion.get(emotion) ?? [];
    if (!list.includes(word.toLowerCase())) list.push(word.toLowerCase());
    byEmotion.set(emotion, list);
  }
  for (const emotion of EMOTIONS) {
    const words = byEmotion.get(emotion);
    if (!words) continue;
    const noun = EMOTION_NOUN[emotion];
    const finding =
      words.length === 1
        ? `The transcript contains the word ${quote(words)}, which expresses ${noun}`
        : `The transcript contains the words ${quote(words)}, which express ${noun}`;
    out.push({
      modality: 'text',
      cue: 'emotion-word',
      name: 'The emotion words',
      finding,
      weights: { [emotion]: Math.min(EMOTION_WORD_CAP, words.length * EMOTION_WORD_WEIGHT) },
    });
  }

  const s = lexical.score;
  const strength = Math.abs(s) >= SENTIMENT_STRONG ? 'strongly' : Math.abs(s) >= SENTIMENT_MILD ? 'mildly' : null;
  const polarity = s > 0 ? 'positive' : 'negative';
  const cited = wordsInTranscript(s > 0 ? lexical.positiveWords : lexical.negativeWords, transcript);
  const subject = cited.length > 0 ? `The wording (${quote(cited)}) is` : 'The wording is';
  const sentiment = (finding: string, weights: EmotionEvidence['weights']) =>
    out.push({ modality: 'text', cue: 'sentiment', name: 'The sentiment of the wording', finding, weights });
  if (strength && s > 0) {
    sentiment(`${subject} ${strength} ${polarity}, with a sentiment score of ${signed(s)}`, { happy: 1.2 * s });
  } else if (strength) {
    const m = Math.abs(s);
    sentiment(`${subject} ${strength} ${polarity}, with a sentiment score of ${signed(s)}`, {
      sad: 0.6 * m,
      angry: 0.5 * m,
      fearful: 0.4 * m,
      disgusted: 0.3 * m,
    });
  } else {
    sentiment(`The wording is emotionally neutral, with a sentiment score of ${signed(s)}`, { neutral: 0.3 });
  }
  return out;
}
