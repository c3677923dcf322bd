// The offline `rules` teacher: writes descriptions, labels, questions (multiple-choice; open "why" and
// "which cue"; attribute: face, tone of voice, what was said) and step-wise rationales from the cues a
// segment carries, with no network and no model. Every text it writes
// cites only what was measured; it never invents a face, a pitch or a word that is not in the record.
// Its only randomness (MCQ distractors and option order) is seeded by the segment id, so a re-run
// writes byte-identical output. Each role's object (a TeacherTask, kept by its stage) names its
// writer here; the teacher runs the writer of the role a request asks for.
import { EMOTIONS, type AcousticCues, type Emotion, type QAItem, type Segment, type Sentiment } from '../../schemas/records.ts';
import { RecordError } from '../errors.ts';
import { sha256 } from '../fingerprint.ts';
import { mulberry32 } from '../random.ts';
import type { Teacher, TeacherRequest, TeacherResponse } from './teacher.ts';

// ---------------------------------------------------------------------------------------------
// Reference values. Speaker and corpus baselines are not known at this point of the pipeline, so
// the prosody thresholds are absolute values for adult speech recorded at a normal level.
// ---------------------------------------------------------------------------------------------

/** Mean F0 below this is low even for an adult male voice (typical male speaking F0 ~100–150 Hz). */
const F0_LOW_HZ = 110;
/** Mean F0 above this is high even for an adult female voice (typical female speaking F0 ~165–220 Hz). */
const F0_HIGH_HZ = 220;
/** Mean F0 above this is strained / very high for adult speech: fear and surprise more than joy. */
const F0_VERY_HIGH_HZ = 270;
/** F0 SD / mean below this is a flat, monotone contour. */
const F0_FLAT_CV = 0.08;
/** F0 SD / mean above this is a lively, strongly modulated contour. */
const F0_LIVELY_CV = 0.25;
/** When only min/max are known: a range under 3 semitones is flat, over 12 (an octave) is lively. */
const F0_FLAT_RANGE_ST = 3;
const F0_LIVELY_RANGE_ST = 12;
/** Mean RMS at or above this is loud (speech is usually mastered around -20 to -23 dBFS). */
const RMS_LOUD_DB = -16;
/** Mean RMS at or below this is quiet. */
const RMS_QUIET_DB = -30;
/** Words per second: conversational English runs ~2.5–3; at or below 2 is slow, at or above 3.6 fast. */
const RATE_SLOW_WPS = 2.0;
const RATE_FAST_WPS = 3.6;
/** Syllable-nuclei rates count syllables, ~1.5 per English word; thresholds scale by this. */
const SYLLABLES_PER_WORD = 1.5;
/** At or above this share of silent frames the speech is halting. */
const PAUSE_LONG_RATIO = 0.4;
/** Lexical sentiment |score| at or above this counts as emotional wording; 0.5 and up is strong. */
const SENTIMENT_MILD = 0.2;
const SENTIMENT_STRONG = 0.5;
/** Neutral's prior: with no evidence at all, or only weak evidence, the estimate stays neutral. */
const NEUTRAL_PRIOR = 0.5;
/** One emotion word counts this much for its emotion, at most twice per emotion. */
const EMOTION_WORD_WEIGHT = 1.0;
const EMOTION_WORD_CAP = 2.0;
/**
 * Voice and words conflict (CA-MER's audio- vs text-aligned) only when each modality gives the
 * other's winner less than this share of its own top score: loud + high-pitched fits both angry and
 * happy, so happy words over such a voice are no conflict.
 */
const CONFLICT_SHARE = 0.5;
/** An estimate whose score is below 60% of winner + runner-up is reported as weak. */
const WEAK_CONFIDENCE = 0.6;
/** Valence / arousal cut-offs used to map to the three sentiment classes and to synonym variants. */
const VALENCE_SENTIMENT_CUT = 0.15;
const AROUSAL_HIGH_CUT = 0.2;

/** Dimensional prototypes of each category (circumplex model), in [-1, 1]. */
const EMOTION_VALENCE: Record<Emotion, number> = {
  happy: 0.8, surprised: 0.2, neutral: 0, sad: -0.7, angry: -0.6, fearful: -0.7, disgusted: -0.6,
};
const EMOTION_AROUSAL: Record<Emotion, number> = {
  happy: 0.5, surprised: 0.7, neutral: -0.1, sad: -0.5, angry: 0.8, fearful: 0.6, disgusted: 0.2,
};

/** Open-vocabulary words per emotion, [high-arousal variant, low-arousal variant]; neutral is empty (AffectGPT). */
const SYNONYMS: Record<Emotion, readonly [readonly string[], readonly string[]]> = {
  happy: [['happy', 'joyful', 'excited'], ['happy', 'content', 'pleased']],
  sad: [['sad', 'upset', 'distressed'], ['sad', 'disappointed', 'downcast']],
  angry: [['angry', 'furious', 'frustrated'], ['angry', 'irritated', 'annoyed']],
  fearful: [['fearful', 'scared', 'panicked'], ['fearful', 'anxious', 'worried']],
  surprised: [['surprised', 'astonished', 'amazed'], ['surprised', 'puzzled', 'curious']],
  disgusted: [['disgusted', 'repulsed', 'revolted'], ['disgusted', 'disdainful', 'displeased']],
  neutral: [[], []],
};

/** A secondary emotion joins the openset when its score reaches this share of the winner's. */
const SECONDARY_SHARE = 0.75;
const OPENSET_MAX = 4;

const EMOTION_NOUN: Record<Emotion, string> = {
  happy: 'happiness', sad: 'sadness', angry: 'anger', fearful: 'fear', surprised: 'surprise',
  disgusted: 'disgust', neutral: 'calm',
};

// ---------------------------------------------------------------------------------------------
// The estimator, shared by every role so a segment's description, labels, MCQ and rationale agree.
// ---------------------------------------------------------------------------------------------

export type EvidenceCue = 'face-expression' | 'f0-level' | 'f0-spread' | 'loudness' | 'speech-rate' | 'pauses' | 'emotion-word' | 'sentiment';

/** One measured cue and the emotions it points to. */
export interface EmotionEvidence {
  readonly modality: 'video' | 'audio' | 'text';
  readonly cue: EvidenceCue;
  /** A sentence stating the measured value, ready to cite ("The mean pitch is 252 Hz, high for adult speech"). */
  readonly finding: string;
  /** How much the cue adds to each emotion's score. */
  readonly weights: Readonly<Partial<Record<Emotion, number>>>;
}

export interface EmotionEstimate {
  readonly primary: Emotion;
  /** Winner / (winner + runner-up): 0.5 is a tie, 1 unopposed; 0 when no cue was measured. */
  readonly confidence: number;
  readonly scores: Readonly<Record<Emotion, number>>;
  /** The cues used, video then audio then text (MER-Caption order), in the order they are cited. */
  readonly evidence: readonly EmotionEvidence[];
  /** The emotion each modality points to on its own (null when it has no evidence). */
  readonly byModality: { readonly video: Emotion | null; readonly audio: Emotion | null; readonly text: Emotion | null };
  /** Voice and words point to clearly different emotions. */
  readonly conflict: boolean;
  readonly valence: number;
  readonly arousal: number;
  readonly sentiment: Sentiment;
}

/** Categories and rounded values of the acoustic cues; used by the estimator and the describer. */
interface ProsodyReading {
  readonly acoustic: AcousticCues;
  readonly f0Mean: number | null;
  readonly pitch: 'low' | 'mid' | 'high' | 'very-high' | null;
  readonly spread: 'flat' | 'moderate' | 'lively' | null;
  readonly loudness: 'quiet' | 'moderate' | 'loud';
  readonly rate: 'slow' | 'moderate' | 'fast';
  readonly rateUnit: 'words/s' | 'syllables/s';
  readonly halting: boolean;
}

function readProsody(acoustic: AcousticCues): ProsodyReading {
  const f0Mean = acoustic.f0MeanHz !== null && acoustic.f0MeanHz > 0 ? acoustic.f0MeanHz : null;
  const pitch = f0Mean === null ? null
    : f0Mean >= F0_VERY_HIGH_HZ ? 'very-high'
    : f0Mean >= F0_HIGH_HZ ? 'high'
    : f0Mean < F0_LOW_HZ ? 'low' : 'mid';

  let spread: ProsodyReading['spread'] = null;
  if (f0Mean !== null && acoustic.f0SdHz !== null) {
    const cv = acoustic.f0SdHz / f0Mean;
    spread = cv < F0_FLAT_CV ? 'flat' : cv > F0_LIVELY_CV ? 'lively' : 'moderate';
  } else if (acoustic.f0MinHz !== null && acoustic.f0MaxHz !== null && acoustic.f0MinHz > 0) {
    const semitones = 12 * Math.log2(acoustic.f0MaxHz / acoustic.f0MinHz);
    spread = semitones < F0_FLAT_RANGE_ST ? 'flat' : semitones > F0_LIVELY_RANGE_ST ? 'lively' : 'moderate';
  }

  const loudness = acoustic.rmsDb >= RMS_LOUD_DB ? 'loud' : acoustic.rmsDb <= RMS_QUIET_DB ? 'quiet' : 'moderate';
  const perWord = acoustic.speechRateSource === 'syllable-nuclei' ? SYLLABLES_PER_WORD : 1;
  const rate = acoustic.speechRate <= RATE_SLOW_WPS * perWord ? 'slow'
    : acoustic.speechRate >= RATE_FAST_WPS * perWord ? 'fast' : 'moderate';
  return {
    acoustic, f0Mean, pitch, spread, loudness, rate,
    rateUnit: acoustic.speechRateSource === 'syllable-nuclei' ? 'syllables/s' : 'words/s',
    halting: acoustic.pauseRatio >= PAUSE_LONG_RATIO,
  };
}

function hz(value: number): string {
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

/** A face's expression counts this much at most (times its mean probability and stability). */
const FACE_WEIGHT = 1.0;
/** Below this mean probability the dominant expression is too uncertain to cite as evidence. */
const FACE_MIN_PROBABILITY = 0.4;

function videoEvidence(segment: Segment): EmotionEvidence[] {
  const visual = segment.cues?.visual;
  if (!visual || !visual.dominant || !visual.meanExpressions) return [];
  const probability = visual.meanExpressions[visual.dominant] ?? 0;
  if (probability < FACE_MIN_PROBABILITY) return [];
  const withFace = visual.frames.filter((f) => f.faces > 0).length;
  const finding = `The face reads as ${visual.dominant} (mean probability ${probability.toFixed(2)}) in ${withFace} of ${visual.frames.length} keyframes, stable in ${Math.round(visual.stability * 100)}% of them`;
  return [{ modality: 'video', cue: 'face-expression', finding, weights: { [visual.dominant]: round2(FACE_WEIGHT * probability * visual.stability) } }];
}

function audioEvidence(p: ProsodyReading): EmotionEvidence[] {
  const a = p.acoustic;
  const out: EmotionEvidence[] = [];
  if (p.f0Mean !== null && p.pitch) {
    const range = a.f0MinHz !== null && a.f0MaxHz !== null ? ` (range ${Math.round(a.f0MinHz)}–${hz(a.f0MaxHz)})` : '';
    const base = `The mean pitch is ${hz(p.f0Mean)}${range}`;
    if (p.pitch === 'very-high') out.push({ modality: 'audio', cue: 'f0-level', finding: `${base}, very high for adult speech`, weights: { fearful: 0.9, surprised: 0.7, happy: 0.4, angry: 0.2 } });
    else if (p.pitch === 'high') out.push({ modality: 'audio', cue: 'f0-level', finding: `${base}, high for adult speech`, weights: { happy: 0.8, surprised: 0.5, fearful: 0.5, angry: 0.3 } });
    else if (p.pitch === 'low') out.push({ modality: 'audio', cue: 'f0-level', finding: `${base}, low for adult speech`, weights: { sad: 0.8, neutral: 0.2 } });
    else out.push({ modality: 'audio', cue: 'f0-level', finding: `${base}, in the ordinary speaking range`, weights: { neutral: 0.3 } });
  }
  if (p.spread === 'flat' || p.spread === 'lively') {
    const measure = a.f0SdHz !== null && p.f0Mean !== null ? `a pitch SD of ${hz(a.f0SdHz)}`
      : `a pitch range of ${Math.round(a.f0MinHz ?? 0)}–${hz(a.f0MaxHz ?? 0)}`;
    if (p.spread === 'flat') out.push({ modality: 'audio', cue: 'f0-spread', finding: `The intonation is flat, with ${measure}`, weights: { sad: 0.4, neutral: 0.3 } });
    else out.push({ modality: 'audio', cue: 'f0-spread', finding: `The intonation is lively, with ${measure}`, weights: { surprised: 0.5, happy: 0.3, angry: 0.2 } });
  }
  const level = `${Math.round(a.rmsDb)} dBFS`;
  if (p.loudness === 'loud') out.push({ modality: 'audio', cue: 'loudness', finding: `The voice is loud, at a mean level of ${level}`, weights: { angry: 1.0, happy: 0.3, surprised: 0.2 } });
  else if (p.loudness === 'quiet') out.push({ modality: 'audio', cue: 'loudness', finding: `The voice is quiet, at a mean level of ${level}`, weights: { sad: 0.5, fearful: 0.3, neutral: 0.2 } });
  const rate = `${a.speechRate.toFixed(1)} ${p.rateUnit}`;
  if (p.rate === 'fast') out.push({ modality: 'audio', cue: 'speech-rate', finding: `The speech is fast, at ${rate}`, weights: { angry: 0.5, fearful: 0.4, happy: 0.3, surprised: 0.2 } });
  else if (p.rate === 'slow') out.push({ modality: 'audio', cue: 'speech-rate', finding: `The speech is slow, at ${rate}`, weights: { sad: 0.7, neutral: 0.1 } });
  if (p.halting) out.push({ modality: 'audio', cue: 'pauses', finding: `Pauses fill ${Math.round(a.pauseRatio * 100)}% of the segment`, weights: { sad: 0.3, fearful: 0.2 } });
  return out;
}

function textEvidence(segment: Segment): EmotionEvidence[] {
  const lexical = segment.cues?.lexical;
  const transcript = segment.transcript?.text ?? '';
  if (!lexical || transcript.trim() === '') return [];
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
    const finding = words.length === 1 ? `The transcript contains the word ${quote(words)}, which expresses ${noun}`
      : `The transcript contains the words ${quote(words)}, which express ${noun}`;
    out.push({ modality: 'text', cue: 'emotion-word', finding, weights: { [emotion]: Math.min(EMOTION_WORD_CAP, words.length * EMOTION_WORD_WEIGHT) } });
  }

  const s = lexical.score;
  const strength = Math.abs(s) >= SENTIMENT_STRONG ? 'strongly' : Math.abs(s) >= SENTIMENT_MILD ? 'mildly' : null;
  const polarity = s > 0 ? 'positive' : 'negative';
  const cited = wordsInTranscript(s > 0 ? lexical.positiveWords : lexical.negativeWords, transcript);
  const subject = cited.length > 0 ? `The wording (${quote(cited)}) is` : 'The wording is';
  if (strength && s > 0) {
    out.push({ modality: 'text', cue: 'sentiment', finding: `${subject} ${strength} ${polarity}, with a sentiment score of ${signed(s)}`, weights: { happy: 1.2 * s } });
  } else if (strength) {
    const m = Math.abs(s);
    out.push({ modality: 'text', cue: 'sentiment', finding: `${subject} ${strength} ${polarity}, with a sentiment score of ${signed(s)}`, weights: { sad: 0.6 * m, angry: 0.5 * m, fearful: 0.4 * m, disgusted: 0.3 * m } });
  } else {
    out.push({ modality: 'text', cue: 'sentiment', finding: `The wording is emotionally neutral, with a sentiment score of ${signed(s)}`, weights: { neutral: 0.3 } });
  }
  return out;
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

function round2(value: number): number {
  return Math.round(value * 100) / 100 + 0; // + 0 turns -0 into 0
}

/** Emotion from the record's cues: lexical emotion words and sentiment combined with prosody. */
export function estimateEmotion(segment: Segment): EmotionEstimate {
  const acoustic = segment.cues?.acoustic;
  const prosody = acoustic ? readProsody(acoustic) : null;
  const audio = prosody ? audioEvidence(prosody) : [];
  const text = textEvidence(segment);
  const video = videoEvidence(segment);
  const evidence = [...video, ...audio, ...text];

  const scores = sum(evidence, NEUTRAL_PRIOR);
  const primary = argmax(scores);
  // Confidence is the winner's share against the runner-up (0.5 = a tie, 1 = unopposed); with no
  // evidence at all the neutral default has no confidence.
  const runnerUp = Math.max(...EMOTIONS.filter((e) => e !== primary).map((e) => scores[e]));
  const confidence = evidence.length === 0 ? 0 : round2(scores[primary] / (scores[primary] + runnerUp));

  const lexical = segment.cues?.lexical;
  const valence = round2(clamp(lexical && text.length > 0 ? 0.5 * lexical.score + 0.5 * EMOTION_VALENCE[primary] : EMOTION_VALENCE[primary]));

  let arousal = EMOTION_AROUSAL[primary];
  if (acoustic) {
    // Each prosodic component maps its usual range onto [-1, 1]; the voice and the category share the weight.
    const parts = [clamp((acoustic.rmsDb + 22) / 8), clamp((acoustic.speechRate / (prosody!.rateUnit === 'syllables/s' ? SYLLABLES_PER_WORD : 1) - 2.8) / 1.2)];
    if (prosody!.f0Mean !== null) parts.push(clamp((prosody!.f0Mean - 165) / 110));
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
  const conflict = byModality.audio !== null && byModality.text !== null && byModality.audio !== byModality.text
    && audioScores[byModality.text] < CONFLICT_SHARE * audioScores[byModality.audio]
    && textScores[byModality.audio] < CONFLICT_SHARE * textScores[byModality.text];
  return {
    primary, confidence, scores, evidence, byModality, conflict,
    valence, arousal: round2(clamp(arousal)), sentiment,
  };
}

// ---------------------------------------------------------------------------------------------
// Role writers
// ---------------------------------------------------------------------------------------------

function joinPhrases(phrases: readonly string[]): string {
  if (phrases.length <= 1) return phrases.join('');
  return `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}`;
}

function describeVideo(segment: Segment, estimate: EmotionEstimate): string {
  const frames = segment.frames?.length ?? 0;
  const visual = segment.cues?.visual;
  if (visual) {
    if (visual.tracks?.length === 0 || visual.faceRatio === 0) return `No face was found in ${visual.frames.length} keyframe${visual.frames.length === 1 ? '' : 's'}.`;
    const person = whichPerson(visual);
    const cited = estimate.evidence.find((e) => e.cue === 'face-expression');
    if (cited) return `${person}${cited.finding}.`;
    return `${person}A face is visible in ${Math.round(visual.faceRatio * 100)}% of the keyframes, but its expression is unclear.`;
  }
  return frames > 0 ? `${frames} keyframe${frames === 1 ? ' was' : 's were'} extracted, but facial cues were not analysed.`
    : 'Facial cues were not analysed.';
}

function describeAudio(segment: Segment): string {
  const acoustic = segment.cues?.acoustic;
  if (!acoustic) return 'No acoustic measurements are available.';
  const p = readProsody(acoustic);
  const traits: string[] = [];
  if (p.loudness !== 'moderate') traits.push(`${p.loudness} (${Math.round(acoustic.rmsDb)} dBFS)`);
  if (p.f0Mean !== null && p.pitch) {
    const adjective = { 'very-high': 'very high-pitched', high: 'high-pitched', low: 'low-pitched', mid: 'moderately pitched' }[p.pitch];
    const details = [`mean F0 ${hz(p.f0Mean)}`];
    if (acoustic.f0MinHz !== null && acoustic.f0MaxHz !== null) details.push(`range ${Math.round(acoustic.f0MinHz)}–${hz(acoustic.f0MaxHz)}`);
    traits.push(`${adjective} (${details.join(', ')})`);
  }
  if (p.spread === 'flat') traits.push('monotone');
  if (p.spread === 'lively') traits.push('lively in intonation');
  const rate = `${acoustic.speechRate.toFixed(1)} ${p.rateUnit}`;
  traits.push(p.rate === 'moderate' ? `at an ordinary pace (${rate})` : `${p.rate} (${rate})`);
  if (p.loudness === 'moderate') traits.push(`at a moderate level (${Math.round(acoustic.rmsDb)} dBFS)`);

  const sentences = [`The voice is ${joinPhrases(traits)}.`];
  if (p.f0Mean === null) sentences.push(`No pitch could be measured (${Math.round(acoustic.voicedRatio * 100)}% of frames voiced).`);
  if (p.halting) sentences.push(`Pauses fill ${Math.round(acoustic.pauseRatio * 100)}% of the segment.`);
  return sentences.join(' ');
}

function describeText(segment: Segment, estimate: EmotionEstimate): string {
  if (!segment.transcript) return 'No transcript is available.';
  if (segment.transcript.text.trim() === '') return 'Nothing intelligible was said.';
  const text = estimate.evidence.filter((e) => e.modality === 'text');
  if (!segment.cues?.lexical || text.length === 0) return 'The subtitle was transcribed, but its wording was not scored.';
  return text.map((e) => `${e.finding}.`).join(' ');
}

function describeInference(estimate: EmotionEstimate): string {
  const { audio, text } = estimate.byModality;
  const feels = estimate.primary === 'neutral' ? 'shows no clear emotion (neutral)' : `most likely feels ${estimate.primary}`;
  let sentence = estimate.conflict
    ? `The voice points to ${audio} while the words point to ${text}; taken together, the speaker ${feels}`
    : `Taken together, the speaker ${feels}`;
  if (estimate.evidence.length === 0) sentence = `With no measured cue pointing to an emotion, the speaker ${feels}`;
  else if (estimate.confidence < WEAK_CONFIDENCE) sentence += ', although the cues are weak';
  return `${sentence}.`;
}

/** The `describe` role offline. */
export function writeDescription(segment: Segment): { text: string } {
  const estimate = estimateEmotion(segment);
  // MER-Caption order: video cues, audio cues, subtitle, inference.
  return { text: [describeVideo(segment, estimate), describeAudio(segment), describeText(segment, estimate), describeInference(estimate)].join(' ') };
}

/**
 * The `judge` role offline: a rubric over what can be checked without a model. Starts at 10 and
 * deducts for a rationale whose verdict disagrees with the labels (4), a description that never
 * names the primary emotion or a word of its open set (2), each measured modality the description
 * never mentions (1 each: video, audio, words), modalities that conflict without a reference (1),
 * and a missing or empty transcript (2). The reason lists every deduction.
 */
export function writeJudgement(segment: Segment): { score: number; reason: string } {
  const deductions: string[] = [];
  let score = 10;
  const take = (points: number, why: string) => {
    score -= points;
    deductions.push(`-${points} ${why}`);
  };
  const labels = segment.labels;
  const description = (segment.description?.text ?? '').toLowerCase();
  if (labels && segment.rationale && segment.rationale.emotion !== labels.primary) take(4, `the rationale concludes ${segment.rationale.emotion} but the labels say ${labels.primary}`);
  if (labels && description) {
    const names = [labels.primary, ...labels.openset].map((w) => w.toLowerCase());
    if (!names.some((w) => description.includes(w)) && labels.primary !== 'neutral') take(2, `the description never names ${labels.primary} or its open-set words`);
  }
  if (description) {
    if (segment.cues?.visual && !/\b(face|facial|expression|smil|frown|keyframe)/.test(description)) take(1, 'the face was measured but the description never mentions it');
    if (segment.cues?.acoustic && !/\b(voice|pitch|tone|loud|speech rate|speaking|prosod)/.test(description)) take(1, 'the voice was measured but the description never mentions it');
    if (segment.transcript?.text.trim() && !/\b(word|said|says|subtitle|transcript|wording|text)/.test(description)) take(1, 'there is a transcript but the description never mentions the words');
  }
  if (segment.cues?.agreement?.tag === 'ambiguous') take(1, 'the modalities conflict with no reference to settle them');
  if (!segment.transcript?.text.trim()) take(2, 'no transcript');
  score = Math.max(1, score);
  return { score, reason: deductions.length ? `${score}/10: ${deductions.join('; ')}` : '10/10: the labels, description and rationale agree and cite every measured modality' };
}

/** Which person the face cues are about, as a sentence (empty for records without face tracks). */
function whichPerson(visual: NonNullable<NonNullable<Segment['cues']>['visual']>): string {
  if (!visual.tracks || !visual.described) return '';
  const others = visual.otherFaces ?? 0;
  const rest = others === 0 ? '' : `; ${others} other face${others === 1 ? ' is' : 's are'} not described`;
  if (visual.speaker?.track === visual.described) {
    return `The face cues are about the person speaking (face track ${visual.described}, whose mouth moves with the speech at confidence ${visual.speaker.confidence.toFixed(2)})${rest}. `;
  }
  return `The speaker could not be identified, so the face cues are about the face seen longest (face track ${visual.described})${rest}. `;
}

/** The `vision` role offline: the face cues of the keyframes in temporal order (identity never described). */
export function writeVisionClues(segment: Segment): { text: string } {
  const visual = segment.cues?.visual;
  if (!visual || visual.frames.length === 0) return { text: 'No keyframe was analysed offline, so facial expression, gaze, posture and scene are unknown.' };
  const parts = visual.frames.map((frame, i) => {
    const at = `keyframe ${i + 1} (${frame.time.toFixed(1)} s)`;
    if (frame.faces === 0 || !frame.expressions) return `${at}: no face is visible`;
    const top = EMOTIONS.reduce((best, e) => ((frame.expressions![e] ?? 0) > (frame.expressions![best] ?? 0) ? e : best), EMOTIONS[0]);
    const who = visual.tracks ? 'the described face looks' : 'the largest looks';
    return `${at}: ${frame.faces > 1 ? `${frame.faces} faces; ${who}` : 'the face looks'} ${top} (${(frame.expressions[top] ?? 0).toFixed(2)})`;
  });
  const trend = visual.dominant
    ? ` Across the clip the expression is mostly ${visual.dominant}, stable in ${Math.round(visual.stability * 100)}% of the frames with a face.`
    : ' No expression could be read.';
  const peak = visual.peak ? ` Its expression peaks at ${visual.peak.time.toFixed(2)} s (${visual.peak.emotion}, ${visual.peak.probability.toFixed(2)}).` : '';
  const g = visual.geometry;
  const geometry = g
    ? ` Landmark geometry (ratios to the eye spacing, not action units): mouth opening ${g.mean.mouthOpening.toFixed(2)} on average, lip-corner raise ${g.mean.lipCornerRaise.toFixed(2)}, eye openness ${g.mean.eyeOpenness.toFixed(2)}.`
    : '';
  return { text: `${whichPerson(visual)}${upperFirst(parts.join('; '))}.${trend}${peak}${geometry} Gaze, posture and scene are not measured offline.` };
}

/** The `audio` role offline: tone, pitch, intensity and rhythm from the prosody cues. */
export function writeAudioClues(segment: Segment): { text: string } {
  const a = segment.cues?.acoustic;
  if (!a) return { text: 'The audio was not analysed, so tone, pitch, intensity and rhythm are unknown.' };
  const sentences: string[] = [];
  if (a.f0MeanHz === null) sentences.push('No pitch was found: the audio is unvoiced or silent.');
  else {
    const range = a.f0MinHz !== null && a.f0MaxHz !== null ? ` ranging from ${a.f0MinHz.toFixed(0)} to ${a.f0MaxHz.toFixed(0)} Hz` : '';
    const variation = (a.f0SdHz ?? 0) > 40 ? 'a lively, varied intonation' : (a.f0SdHz ?? 0) > 20 ? 'a moderately varied intonation' : 'a flat intonation';
    const slope = a.f0SlopeHzPerS == null ? '' : a.f0SlopeHzPerS > 10 ? ', rising over the utterance' : a.f0SlopeHzPerS < -10 ? ', falling over the utterance' : '';
    sentences.push(`The pitch averages ${a.f0MeanHz.toFixed(0)} Hz${range}, with ${variation} (sd ${(a.f0SdHz ?? 0).toFixed(0)} Hz)${slope}.`);
  }
  const loud = a.rmsDb > -18 ? 'loud' : a.rmsDb > -30 ? 'at a moderate level' : 'quiet';
  sentences.push(`The voice is ${loud} (${a.rmsDb.toFixed(1)} dBFS${a.loudnessLufs == null ? '' : `, ${a.loudnessLufs.toFixed(1)} LUFS`}), with an intensity spread of ${a.rmsSdDb.toFixed(1)} dB.`);
  const unit = a.speechRateSource === 'transcript' ? 'words/s' : 'syllables/s';
  const pace = a.pauseRatio > 0.4 ? 'long pauses break the rhythm' : a.pauseRatio > 0.15 ? 'there are some pauses' : 'it flows with few pauses';
  sentences.push(`The rhythm is ${a.speechRate.toFixed(1)} ${unit}, and ${pace} (${Math.round(a.pauseRatio * 100)}% silence).`);
  return { text: sentences.join(' ') };
}

/** The `labels` role offline, and the `crosscheck` role's: offline there is one estimator, so the second opinion is the first one. */
export function writeLabels(segment: Segment) {
  const estimate = estimateEmotion(segment);
  const variant = estimate.arousal >= AROUSAL_HIGH_CUT ? 0 : 1;
  const openset = [...SYNONYMS[estimate.primary][variant]];
  if (estimate.primary !== 'neutral') {
    const top = estimate.scores[estimate.primary];
    for (const emotion of EMOTIONS) {
      if (emotion === estimate.primary || emotion === 'neutral' || openset.length >= OPENSET_MAX) continue;
      const word = SYNONYMS[emotion][variant][0];
      if (estimate.scores[emotion] >= SECONDARY_SHARE * top && word && !openset.includes(word)) openset.push(word);
    }
  }
  return { primary: estimate.primary, openset, sentiment: estimate.sentiment, valence: estimate.valence, arousal: estimate.arousal };
}

/** mulberry32 seeded from sha256(segment id + purpose): the only randomness this teacher has. */
function seededRandom(segmentId: string, purpose: string): () => number {
  return mulberry32(parseInt(sha256(`${segmentId}:${purpose}`).slice(0, 8), 16));
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const MCQ_DISTRACTORS = 3;

/** A question the `qa` role writes; the stage adds provenance. */
type Question = Omit<QAItem, 'provenance'>;

/** What the `qa` role is told (its options schema is in stages/qa.ts). */
interface QuestionOptions {
  /** Labels MCQ distractors are drawn from. */
  readonly labelSet: readonly string[];
  readonly kinds: readonly QAItem['kind'][];
}

function writeMcq(segment: Segment, estimate: EmotionEstimate, options: QuestionOptions): Question {
  const labelSet = [...new Set(options.labelSet)];
  const answer = estimate.primary;
  const pool = labelSet.filter((label) => label !== answer);
  if (pool.length < MCQ_DISTRACTORS) {
    throw new RecordError('teacher-bad-options', `options.labelSet needs at least ${MCQ_DISTRACTORS} labels other than the answer '${answer}', got ${JSON.stringify(labelSet)}`);
  }
  const random = seededRandom(segment.id, 'mcq');
  const distractors = shuffle(pool, random).slice(0, MCQ_DISTRACTORS);
  const choices = shuffle([answer, ...distractors], random);
  const question = `Which emotion does the speaker in this clip most likely feel? Choose one of: ${choices.join(', ')}.`;
  return { kind: 'mcq', question, options: choices, answer };
}

/** What each evidence cue is called when an answer names it. */
const CUE_NAME: Record<EvidenceCue, string> = {
  'face-expression': 'The facial expression',
  'f0-level': 'The pitch level',
  'f0-spread': 'The intonation',
  loudness: 'The loudness of the voice',
  'speech-rate': 'The speaking rate',
  pauses: 'The pauses',
  'emotion-word': 'The emotion words',
  sentiment: 'The sentiment of the wording',
};

function lowerFirst(sentence: string): string {
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}

function upperFirst(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

function emotionTarget(emotion: Emotion): string {
  return emotion === 'neutral' ? 'a neutral state' : emotion;
}

/** "Why": the findings that add to the predicted emotion, in the order the estimator cites them. */
function writeWhy(estimate: EmotionEstimate): Question {
  const { primary, evidence } = estimate;
  const question = `Why does the person most likely feel ${primary}?`;
  const supporting = evidence.filter((e) => (e.weights[primary] ?? 0) > 0);
  if (evidence.length === 0) {
    return { kind: 'open', question, answer: 'No facial, acoustic or textual cue was measured that points to an emotion, so the reading stays neutral.' };
  }
  if (supporting.length === 0) {
    // Only neutral can win without support: it is the prior the other emotions failed to beat.
    return { kind: 'open', question, answer: `No measured cue is strong enough to point to an emotion: ${evidence.map((e) => lowerFirst(e.finding)).join('; ')}. So the reading stays neutral.` };
  }
  const sentences = supporting.map((e) => `${e.finding}.`);
  if (estimate.conflict) {
    sentences.push(`The voice points to ${estimate.byModality.audio} while the words point to ${estimate.byModality.text}; the combined evidence favours ${primary}.`);
  }
  const weak = estimate.confidence < WEAK_CONFIDENCE ? ', although the evidence is weak' : '';
  sentences.push(`${supporting.length === 1 ? 'This cue points' : 'Together these cues point'} to ${emotionTarget(primary)}${weak}.`);
  return { kind: 'open', question, answer: sentences.join(' ') };
}

/** "Which cue": the single finding that adds most to the predicted emotion; none when nothing supports it. */
function writeStrongestCue(estimate: EmotionEstimate): Question | null {
  const { primary } = estimate;
  let strongest: EmotionEvidence | null = null;
  for (const e of estimate.evidence) {
    // Strictly greater: on a tie the cue cited first (video, audio, text) wins.
    if ((e.weights[primary] ?? 0) > (strongest?.weights[primary] ?? 0)) strongest = e;
  }
  if (!strongest) return null;
  return {
    kind: 'open',
    question: 'Which cue points most strongly to the emotion?',
    answer: `${CUE_NAME[strongest.cue]}: ${lowerFirst(strongest.finding)}. Of the measured cues, it points most strongly to ${emotionTarget(primary)}.`,
  };
}

/** Expressions with a mean probability below this are not named as the runner-up. */
const FACE_RUNNER_UP_PROBABILITY = 0.2;

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function writeFaceAttribute(segment: Segment): Question | null {
  const visual = segment.cues?.visual;
  const withFace = visual?.frames.filter((f) => f.faces > 0).length ?? 0;
  if (!visual || withFace === 0) return null;
  const question = 'What facial expression does the person show?';
  const seen = `in ${withFace} of ${visual.frames.length} keyframes`;
  const mean = visual.meanExpressions;
  if (!visual.dominant || !mean) return { kind: 'attribute', question, answer: `A face is visible ${seen}, but its expression could not be read.` };
  const probability = mean[visual.dominant] ?? 0;
  if (probability < FACE_MIN_PROBABILITY) {
    return { kind: 'attribute', question, answer: `A face is visible ${seen}, but its expression is unclear: the most likely reading is ${visual.dominant}, at a mean probability of only ${probability.toFixed(2)}.` };
  }
  let answer = `The person shows ${article(visual.dominant)} ${visual.dominant} facial expression (mean probability ${probability.toFixed(2)}) ${seen}, stable in ${Math.round(visual.stability * 100)}% of them.`;
  const runnerUp = EMOTIONS.filter((e) => e !== visual.dominant)
    .reduce<Emotion | null>((best, e) => ((mean[e] ?? 0) > (best === null ? 0 : mean[best] ?? 0) ? e : best), null);
  if (runnerUp && (mean[runnerUp] ?? 0) >= FACE_RUNNER_UP_PROBABILITY) {
    answer += ` The next most likely reading is ${runnerUp} (${(mean[runnerUp] ?? 0).toFixed(2)}).`;
  }
  return { kind: 'attribute', question, answer };
}

function writeToneAttribute(segment: Segment): Question | null {
  const acoustic = segment.cues?.acoustic;
  if (!acoustic) return null;
  const p = readProsody(acoustic);
  const parts: string[] = [];
  if (p.f0Mean !== null && p.pitch) {
    const level = { 'very-high': 'very high', high: 'high', low: 'low', mid: 'in the ordinary range' }[p.pitch];
    const range = acoustic.f0MinHz !== null && acoustic.f0MaxHz !== null ? `, range ${Math.round(acoustic.f0MinHz)}–${hz(acoustic.f0MaxHz)}` : '';
    parts.push(`the pitch is ${level} (mean ${hz(p.f0Mean)}${range})`);
  } else {
    parts.push(`no pitch could be measured (${Math.round(acoustic.voicedRatio * 100)}% of frames voiced)`);
  }
  if (p.spread) {
    const measure = acoustic.f0SdHz !== null && p.f0Mean !== null ? `pitch SD ${hz(acoustic.f0SdHz)}`
      : `pitch range ${Math.round(acoustic.f0MinHz ?? 0)}–${hz(acoustic.f0MaxHz ?? 0)}`;
    parts.push(`the intonation is ${p.spread === 'moderate' ? 'moderately varied' : p.spread} (${measure})`);
  }
  parts.push(`the voice is ${p.loudness === 'moderate' ? 'at a moderate level' : p.loudness} (${Math.round(acoustic.rmsDb)} dBFS)`);
  parts.push(`the pace is ${p.rate === 'moderate' ? 'ordinary' : p.rate} (${acoustic.speechRate.toFixed(1)} ${p.rateUnit})`);
  if (p.halting) parts.push(`pauses fill ${Math.round(acoustic.pauseRatio * 100)}% of the segment`);
  return { kind: 'attribute', question: 'How would you describe the tone of voice?', answer: `${upperFirst(joinPhrases(parts))}.` };
}

function writeSpeechAttribute(segment: Segment): Question | null {
  const text = segment.transcript?.text.trim() ?? '';
  if (text === '') return null;
  return { kind: 'attribute', question: 'What does the person say?', answer: text };
}

/** The `qa` role offline: items of each requested kind, always in the order mcq, open, attribute; a question whose cue is missing is skipped. */
export function writeQuestions(segment: Segment, options: QuestionOptions) {
  const estimate = estimateEmotion(segment);
  const kinds = new Set(options.kinds);
  const items: (Question | null)[] = [];
  if (kinds.has('mcq')) items.push(writeMcq(segment, estimate, options));
  if (kinds.has('open')) items.push(writeWhy(estimate), writeStrongestCue(estimate));
  if (kinds.has('attribute')) items.push(writeFaceAttribute(segment), writeToneAttribute(segment), writeSpeechAttribute(segment));
  return { items: items.filter((item): item is Question => item !== null) };
}

function supportsPhrase(weights: EmotionEvidence['weights']): string {
  const ranked = EMOTIONS.filter((e) => (weights[e] ?? 0) > 0).sort((a, b) => (weights[b] ?? 0) - (weights[a] ?? 0)).slice(0, 3);
  if (ranked.length === 1) return ranked[0] === 'neutral' ? 'suggests a neutral state' : `points to ${ranked[0]}`;
  return `fits ${ranked.slice(0, -1).join(', ')} or ${ranked[ranked.length - 1]}`;
}

/** The `rationale` role offline. */
export function writeRationale(segment: Segment) {
  const estimate = estimateEmotion(segment);
  // A finding may end in its own 'which' clause, so the support is a clause of its own.
  const steps = estimate.evidence.map((e) => `${e.finding}; this ${supportsPhrase(e.weights)}.`);
  if (steps.length === 0) steps.push('No facial, acoustic or textual cue points to an emotion, so nothing signals one.');
  const { audio, text } = estimate.byModality;
  if (estimate.conflict) steps.push(`The voice points to ${audio} while the words point to ${text}; the combined evidence favours ${estimate.primary}.`);
  steps.push(`predicted emotion is ${estimate.primary}`);
  return { steps: steps.map((step, i) => `Step ${i + 1}: ${step}`), emotion: estimate.primary };
}

/** Goes into provenance and cache keys: bump it whenever the text written for the same record changes. */
export const RULES_MODEL = 'rules-v3';

/** The offline teacher: deterministic text from the record's cues; outputs are marked teacher=rules. */
export class RulesTeacher implements Teacher {
  readonly name: string;
  readonly model: string;
  readonly fingerprint: unknown;

  constructor(options: { readonly name?: string; readonly model?: string } = {}) {
    this.name = options.name ?? 'rules';
    this.model = options.model ?? RULES_MODEL;
    this.fingerprint = { kind: 'rules', model: this.model };
  }

  async generate<T, O>(request: TeacherRequest<T, O>, signal: AbortSignal): Promise<TeacherResponse<T>> {
    signal.throwIfAborted();
    const { task } = request;
    const parsed = task.output.safeParse(task.rules(request.segment, request.options));
    if (!parsed.success) {
      throw new RecordError('teacher-invalid-output',
        `rules teacher output for role '${task.role}' (template ${request.template}) does not match the stage schema: ${parsed.error.message}`,
        { cause: parsed.error });
    }
    return { value: parsed.data, usage: { inputTokens: 0, outputTokens: 0 }, cached: false, teacher: this.name, model: this.model };
  }
}
