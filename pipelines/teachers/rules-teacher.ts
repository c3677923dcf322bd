// The offline `rules` teacher: writes descriptions, labels, questions (multiple-choice; open "why" and
// "which cue"; attribute: face, tone of voice, what was said) and step-wise rationales from the cues a
// segment carries, with no network and no model. Every text it writes
// cites only what was measured; it never invents a face, a pitch or a word that is not in the record.
// Its only randomness (MCQ distractors and option order) is seeded by the segment id, so a re-run
// writes byte-identical output. Each role's object (a TeacherTask, kept by its stage) names its
// writer here; the teacher runs the writer of the role a request asks for.
import { estimateEmotion, type EmotionEstimate } from '../affect/estimate.ts';
import { FACE_MIN_PROBABILITY, hz, type EmotionEvidence } from '../affect/evidence.ts';
import { readProsody } from '../affect/prosody.ts';
import { EMOTIONS, type Emotion } from '../../schemas/emotion.ts';
import type { QAItem, Segment } from '../../schemas/records.ts';
import { cueEvidence } from '../../stages/cues/cues.ts';
import { RecordError } from '../errors.ts';
import { sha256 } from '../fingerprint.ts';
import { mulberry32 } from '../random.ts';
import type { Teacher, TeacherRequest, TeacherResponse } from './teacher.ts';

/** An estimate whose score is below 60% of winner + runner-up is reported as weak. */
const WEAK_CONFIDENCE = 0.6;
/** Arousal at or above this picks the high-arousal synonym variants. */
const AROUSAL_HIGH_CUT = 0.2;

/** Open-vocabulary words per emotion, [high-arousal variant, low-arousal variant]; neutral is empty (AffectGPT). */
const SYNONYMS: Record<Emotion, readonly [readonly string[], readonly string[]]> = {
  happy: [
    ['happy', 'joyful', 'excited'],
    ['happy', 'content', 'pleased'],
  ],
  sad: [
    ['sad', 'upset', 'distressed'],
    ['sad', 'disappointed', 'downcast'],
  ],
  angry: [
    ['angry', 'furious', 'frustrated'],
    ['angry', 'irritated', 'annoyed'],
  ],
  fearful: [
    ['fearful', 'scared', 'panicked'],
    ['fearful', 'anxious', 'worried'],
  ],
  surprised: [
    ['surprised', 'astonished', 'amazed'],
    ['surprised', 'puzzled', 'curious'],
  ],
  disgusted: [
    ['disgusted', 'repulsed', 'revolted'],
    ['disgusted', 'disdainful', 'displeased'],
  ],
  neutral: [[], []],
};

/** A secondary emotion joins the openset when its score reaches this share of the winner's. */
const SECONDARY_SHARE = 0.75;
const OPENSET_MAX = 4;

/** The estimate every role writes from (pipelines/affect over every cue's evidence), so a segment's description, labels, MCQ and rationale agree. */
export function estimateSegment(segment: Segment): EmotionEstimate {
  return estimateEmotion(segment, cueEvidence(segment));
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
    if (visual.tracks?.length === 0 || visual.faceRatio === 0)
      return `No face was found in ${visual.frames.length} keyframe${visual.frames.length === 1 ? '' : 's'}.`;
    const person = whichPerson(visual);
    const cited = estimate.evidence.find((e) => e.cue === 'face-expression');
    if (cited) return `${person}${cited.finding}.`;
    return `${person}A face is visible in ${Math.round(visual.faceRatio * 100)}% of the keyframes, but its expression is unclear.`;
  }
  return frames > 0 ? `${frames} keyframe${frames === 1 ? ' was' : 's were'} extracted, but facial cues were not analysed.` : 'Facial cues were not analysed.';
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
  const estimate = estimateSegment(segment);
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
  if (labels && segment.rationale && segment.rationale.emotion !== labels.primary)
    take(4, `the rationale concludes ${segment.rationale.emotion} but the labels say ${labels.primary}`);
  if (labels && description) {
    const names = [labels.primary, ...labels.openset].map((w) => w.toLowerCase());
    if (!names.some((w) => description.includes(w)) && labels.primary !== 'neutral')
      take(2, `the description never names ${labels.primary} or its open-set words`);
  }
  if (description) {
    if (segment.cues?.visual && !/\b(face|facial|expression|smil|frown|keyframe)/.test(description))
      take(1, 'the face was measured but the description never mentions it');
    if (segment.cues?.acoustic && !/\b(voice|pitch|tone|loud|speech rate|speaking|prosod)/.test(description))
      take(1, 'the voice was measured but the description never mentions it');
    if (segment.transcript?.text.trim() && !/\b(word|said|says|subtitle|transcript|wording|text)/.test(description))
      take(1, 'there is a transcript but the description never mentions the words');
  }
  if (segment.cues?.agreement?.tag === 'ambiguous') take(1, 'the modalities conflict with no reference to settle them');
  if (!segment.transcript?.text.trim()) take(2, 'no transcript');
  score = Math.max(1, score);
  return {
    score,
    reason: deductions.length ? `${score}/10: ${deductions.join('; ')}` : '10/10: the labels, description and rationale agree and cite every measured modality',
  };
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
    const slope =
      a.f0SlopeHzPerS == null ? '' : a.f0SlopeHzPerS > 10 ? ', rising over the utterance' : a.f0SlopeHzPerS < -10 ? ', falling over the utterance' : '';
    sentences.push(`The pitch averages ${a.f0MeanHz.toFixed(0)} Hz${range}, with ${variation} (sd ${(a.f0SdHz ?? 0).toFixed(0)} Hz)${slope}.`);
  }
  const loud = a.rmsDb > -18 ? 'loud' : a.rmsDb > -30 ? 'at a moderate level' : 'quiet';
  sentences.push(
    `The voice is ${loud} (${a.rmsDb.toFixed(1)} dBFS${a.loudnessLufs == null ? '' : `, ${a.loudnessLufs.toFixed(1)} LUFS`}), with an intensity spread of ${a.rmsSdDb.toFixed(1)} dB.`,
  );
  const unit = a.speechRateSource === 'transcript' ? 'words/s' : 'syllables/s';
  const pace = a.pauseRatio > 0.4 ? 'long pauses break the rhythm' : a.pauseRatio > 0.15 ? 'there are some pauses' : 'it flows with few pauses';
  sentences.push(`The rhythm is ${a.speechRate.toFixed(1)} ${unit}, and ${pace} (${Math.round(a.pauseRatio * 100)}% silence).`);
  return { text: sentences.join(' ') };
}

/** The `labels` role offline, and the `crosscheck` role's: offline there is one estimator, so the second opinion is the first one. */
export function writeLabels(segment: Segment) {
  const estimate = estimateSegment(segment);
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
    throw new RecordError(
      'teacher-bad-options',
      `options.labelSet needs at least ${MCQ_DISTRACTORS} labels other than the answer '${answer}', got ${JSON.stringify(labelSet)}`,
    );
  }
  const random = seededRandom(segment.id, 'mcq');
  const distractors = shuffle(pool, random).slice(0, MCQ_DISTRACTORS);
  const choices = shuffle([answer, ...distractors], random);
  const question = `Which emotion does the speaker in this clip most likely feel? Choose one of: ${choices.join(', ')}.`;
  return { kind: 'mcq', question, options: choices, answer };
}

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
    return {
      kind: 'open',
      question,
      answer: `No measured cue is strong enough to point to an emotion: ${evidence.map((e) => lowerFirst(e.finding)).join('; ')}. So the reading stays neutral.`,
    };
  }
  const sentences = supporting.map((e) => `${e.finding}.`);
  if (estimate.conflict) {
    sentences.push(
      `The voice points to ${estimate.byModality.audio} while the words point to ${estimate.byModality.text}; the combined evidence favours ${primary}.`,
    );
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
    answer: `${strongest.name}: ${lowerFirst(strongest.finding)}. Of the measured cues, it points most strongly to ${emotionTarget(primary)}.`,
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
    return {
      kind: 'attribute',
      question,
      answer: `A face is visible ${seen}, but its expression is unclear: the most likely reading is ${visual.dominant}, at a mean probability of only ${probability.toFixed(2)}.`,
    };
  }
  let answer = `The person shows ${article(visual.dominant)} ${visual.dominant} facial expression (mean probability ${probability.toFixed(2)}) ${seen}, stable in ${Math.round(visual.stability * 100)}% of them.`;
  const runnerUp = EMOTIONS.filter((e) => e !== visual.dominant).reduce<Emotion | null>(
    (best, e) => ((mean[e] ?? 0) > (best === null ? 0 : (mean[best] ?? 0)) ? e : best),
    null,
  );
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
    const measure =
      acoustic.f0SdHz !== null && p.f0Mean !== null
        ? `pitch SD ${hz(acoustic.f0SdHz)}`
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
  const estimate = estimateSegment(segment);
  const kinds = new Set(options.kinds);
  const items: (Question | null)[] = [];
  if (kinds.has('mcq')) items.push(writeMcq(segment, estimate, options));
  if (kinds.has('open')) items.push(writeWhy(estimate), writeStrongestCue(estimate));
  if (kinds.has('attribute')) items.push(writeFaceAttribute(segment), writeToneAttribute(segment), writeSpeechAttribute(segment));
  return { items: items.filter((item): item is Question => item !== null) };
}

function supportsPhrase(weights: EmotionEvidence['weights']): string {
  const ranked = EMOTIONS.filter((e) => (weights[e] ?? 0) > 0)
    .sort((a, b) => (weights[b] ?? 0) - (weights[a] ?? 0))
    .slice(0, 3);
  if (ranked.length === 1) return ranked[0] === 'neutral' ? 'suggests a neutral state' : `points to ${ranked[0]}`;
  return `fits ${ranked.slice(0, -1).join(', ')} or ${ranked[ranked.length - 1]}`;
}

/** The `rationale` role offline. */
export function writeRationale(segment: Segment) {
  const estimate = estimateSegment(segment);
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
      throw new RecordError(
        'teacher-invalid-output',
        `rules teacher output for role '${task.role}' (template ${request.template}) does not match the stage schema: ${parsed.error.message}`,
        { cause: parsed.error },
      );
    }
    return { value: parsed.data, usage: { inputTokens: 0, outputTokens: 0 }, cached: false, teacher: this.name, model: this.model };
  }
}
