// The emotion estimator: the weights of every cited cue added up over a neutral prior. The rules
// teacher writes every role from one estimate, so a segment's description, labels, MCQ and
// rationale agree; cues.agreement reads each modality's vote from the same scoring.
import { EMOTIONS, type Emotion, type Sentiment } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { round2, type EmotionEvidence, type Modality } from './evidence.ts';
import { readProsody, wordsPerSecond } from './prosody.ts';

/** Neutral's prior: with no evidence at all, or only weak evidence, the estimate stays neutral. */
const NEUTRAL_PRIOR = 0.5;
/**
 * Voice and words conflict (CA-MER's audio- vs text-aligned) only when each modality gives the
 * other's winner less than this share of its own top score: loud + high-pitched fits both angry and
 * happy, so happy words over such a voice are no conflict.
 */
const CONFLICT_SHARE = 0.5;
/** Valence at or beyond ±this is a positive / negative sentiment. */
const VALENCE_SENTIMENT_CUT = 0.15;

/** Dimensional prototypes of each category (circumplex model), in [-1, 1]. */
const EMOTION_VALENCE: Record<Emotion, number> = {
  happy: 0.8,
  surprised: 0.2,
  neutral: 0,
  sad: -0.7,
  angry: -0.6,
  fearful: -0.7,
  disgusted: -0.6,
};
const EMOTION_AROUSAL: Record<Emotion, number> = {
  happy: 0.5,
  surprised: 0.7,
  neutral: -0.1,
  sad: -0.5,
  angry: 0.8,
  fearful: 0.6,
  disgusted: 0.2,
};

export interface EmotionEstimate {
  readonly primary: Emotion;
  /** Winner / (winner + runner-up): 0.5 is a tie, 1 unopposed; 0 when no cue was measured. */
  readonly confidence: number;
  readonly scores: Readonly<Record<Emotion, number>>;
  /** The cues used, video then audio then text (MER-Caption order), in the order they are cited. */
  readonly evidence: readonly EmotionEvidence[];
  /** The emotion each modality points to on its own (null when it has no evidence). */
  readonly byModality: Readonly<Record<Modality, Emotion | null>>;
  /** Voice and words point to clearly different emotions. */
  readonly conflict: boolean;
  readonly valence: number;
  readonly arousal: number;
  readonly sentiment: Sentiment;
}

/** What some evidence alone says: the winner over the neutral prior and its share against the runner-up. */
interface EvidenceScore {
  readonly primary: Emotion;
  /** Winner / (winner + runner-up); 0 without evidence. */
  readonly confidence: number;
  readonly scores: Readonly<Record<Emotion, number>>;
}

function argmax(scores: Record<Emotion, number>): Emotion {
  // EMOTIONS order breaks ties, so the result never depends on object key order.
  let best: Emotion = 'neutral';
  for (const emotion of EMOTIONS) if (scores[emotion] > scores[best]) best = emotion;
  return best;
}

function sum(evidence: readonly EmotionEvidence[], prior: number): Record<Emotion, number> {
  const scores = Object.fromEntries(EMOTIONS.map((e) => [e, e === 'neutral' ? prior : 0])) as Record<Emotion, number>;
  for (const item of evidence) for (const [emotion, weight] of Object.entries(item.weights)) scores[emotion as Emotion] += weight ?? 0;
  return scores;
}

function clamp(value: number, min = -1, max = 1): number {
  return Math.min(max, Math.max(min, value));
}

/** The evidence scored on its own over the neutral prior. */
export function scoreEvidence(evidence: readonly EmotionEvidence[]): EvidenceScore {
  const scores = sum(evidence, NEUTRAL_PRIOR);
  const primary = argmax(scores);
  // Confidence is the winner's share against the runner-up (0.5 = a tie, 1 = unopposed); with no
  // evidence at all the neutral default has no confidence.
  const runnerUp = Math.max(...EMOTIONS.filter((e) => e !== primary).map((e) => scores[e]));
  const confidence = evidence.length === 0 ? 0 : round2(scores[primary] / (scores[primary] + runnerUp));
  return { primary, confidence, scores };
}

/**
 * A segment's emotion from the evidence its cues give (video, then audio, then text), with valence
 * from the wording and the category, and arousal from the voice and the category.
 */
export function estimateEmotion(segment: Segment, evidence: readonly EmotionEvidence[]): EmotionEstimate {
  const { primary, confidence, scores } = scoreEvidence(evidence);
  const of = (modality: Modality) => evidence.filter((e) => e.modality === modality);
  const [video, audio, text] = [of('video'), of('audio'), of('text')];

  const lexical = segment.cues?.lexical;
  const valence = round2(clamp(lexical && text.length > 0 ? 0.5 * lexical.score + 0.5 * EMOTION_VALENCE[primary] : EMOTION_VALENCE[primary]));

  let arousal = EMOTION_AROUSAL[primary];
  const acoustic = segment.cues?.acoustic;
  if (acoustic) {
    // Each prosodic component maps its usual range onto [-1, 1]; the voice and the category share the weight.
    const parts = [clamp((acoustic.rmsDb + 22) / 8), clamp((wordsPerSecond(acoustic) - 2.8) / 1.2)];
    const f0Mean = readProsody(acoustic).f0Mean;
    if (f0Mean !== null) parts.push(clamp((f0Mean - 165) / 110));
    arousal = 0.5 * (parts.reduce((a, b) => a + b, 0) / parts.length) + 0.5 * arousal;
  }

  const sentiment: Sentiment = valence >= VALENCE_SENTIMENT_CUT ? 'positive' : valence <= -VALENCE_SENTIMENT_CUT ? 'negative' : 'neutral';
  const audioScores = sum(audio, 0);
  const textScores = sum(text, 0);
  const byModality = {
    video: video.length > 0 ? argmax(sum(video, 0)) : null,
    audio: audio.length > 0 ? argmax(audioScores) : null,
    text: text.length > 0 ? argmax(textScores) : null,
  };
  const conflict =
    byModality.audio !== null &&
    byModality.text !== null &&
    byModality.audio !== byModality.text &&
    audioScores[byModality.text] < CONFLICT_SHARE * audioScores[byModality.audio] &&
    textScores[byModality.audio] < CONFLICT_SHARE * textScores[byModality.text];
  return {
    primary,
    confidence,
    scores,
    evidence,
    byModality,
    conflict,
    valence,
    arousal: round2(clamp(arousal)),
    sentiment,
  };
}
