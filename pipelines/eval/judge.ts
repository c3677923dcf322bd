// The eval-judge role: scores what a model under evaluation answered, per step for a rationale
// (MME-Emotion: each step 0/1) and as faithfulness to the stored cues (0–10) plus label hit for a
// description or an open answer. An LLM judge gets configs/prompts/eval-judge.yaml, where the
// question, the answer and the corpus's reference are escaped data blocks. Offline, the rules judge
// applies the project's own checks: the verdict step must name the row's emotion, and every other
// step (or sentence) is checked for grounding against the record's cues and transcript
// (stages/filter/grounding.ts).
import { z } from 'zod';
import { EMOTIONS, Emotion } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { EmotionVocabulary } from '../affect/emotion-words.ts';
import { GroundingConfig, groundRationale } from '../../stages/filter/grounding.ts';
import type { ReadRow } from '../parquet/index.ts';
import { dataBlock } from '../teachers/prompts.ts';
import { teacherRequest, teacherTask } from '../teachers/task.ts';
import type { Teacher } from '../teachers/teacher.ts';
import { answerSteps, EVAL_TASKS, labelHit, verdictNames } from './task-scores.ts';

/** The rubric template; configs/prompts/eval-judge.yaml holds `eval-judge.llm` at its version. */
export const EVAL_JUDGE_TEMPLATE = 'eval-judge.rules@1';

export const EvalJudgement = z.object({
  /** rationale: one 0/1 per step of the answer, in order (the last is the verdict); other tasks: empty */
  steps: z.array(z.number().int().min(0).max(1)),
  /** description / open_qa: faithfulness of the answer to the cues and transcript, 0–10; rationale: 0 */
  faithfulness: z.number().int().min(0).max(10),
  /** the answer names the row's emotion */
  labelHit: z.boolean(),
  /** one or two sentences: what cost points */
  reason: z.string().min(1),
});
export type EvalJudgement = z.infer<typeof EvalJudgement>;

/** What the judge is told about one answer (the request's `options`). */
const EvalJudgeOptions = z
  .object({
    task: z.enum(EVAL_TASKS),
    question: z.string(),
    answer: z.string(),
    reference: z.string(),
    /** the answer's steps (rationale), so the judge scores exactly these */
    steps: z.array(z.string()).readonly(),
    /** the row's primary emotion */
    label: Emotion,
  })
  .strict()
  .readonly();
type EvalJudgeOptions = z.output<typeof EvalJudgeOptions>;

const isEmotion = (value: unknown): value is Emotion => (EMOTIONS as readonly unknown[]).includes(value);

/**
 * The record a row was made from, as far as a row carries it: span, transcript, cues (the row's
 * `cues` JSON is the segment's whole cues object) and labels. The judge reads nothing else.
 */
export function segmentOfRow(row: ReadRow): Segment {
  const primary = isEmotion(row.primary_emotion) ? row.primary_emotion : 'neutral';
  const provenance = { teacher: String(row.teacher), model: String(row.model), template: String(row.template) };
  let cues: Segment['cues'];
  try {
    cues = JSON.parse(String(row.cues ?? '{}')) as Segment['cues'];
  } catch {
    cues = undefined;
  }
  const segment = {
    id: String(row.segment_id),
    clipId: String(row.clip_id),
    index: 0,
    start: Number(row.start),
    end: Number(row.end),
    transcript: { text: String(row.transcript ?? ''), language: String(row.language ?? 'und'), engine: 'row' },
    cues,
    labels: {
      primary,
      openset: Array.isArray(row.openset) ? row.openset.map(String) : [],
      sentiment: row.sentiment === 'positive' || row.sentiment === 'negative' ? row.sentiment : 'neutral',
      valence: Number(row.valence ?? 0),
      arousal: Number(row.arousal ?? 0),
      provenance,
    },
  };
  // The clip (probe, manifest fields) is not in a row and no check of the judge reads it.
  return segment as unknown as Segment;
}

/** What an LLM judge's answer must also satisfy: one verdict per step of a rationale, none otherwise. */
function evalJudgeProblems({ steps }: EvalJudgement, options: EvalJudgeOptions): string[] {
  const expected = options.task === 'rationale' ? options.steps.length : 0;
  return steps.length === expected
    ? []
    : [`steps: give exactly ${expected} scores (one 0 or 1 per step of the answer, in order)${expected === 0 ? '; this task has no steps, so []' : ''}`];
}

const vocabulary = new EmotionVocabulary();
/** A reasoning step must cite a cue of the record (or weigh / conclude, by the filter's patterns). */
const STEP_GROUNDING = GroundingConfig.parse({ uncited: 'ungrounded' });
/** A sentence of a free answer is faithful unless it cites something the record does not hold. */
const SENTENCE_GROUNDING = GroundingConfig.parse({ uncited: 'allow' });

function ungroundedParts(segment: Segment, parts: readonly string[], emotion: Emotion, config: GroundingConfig): Set<number> {
  if (parts.length === 0) return new Set();
  const checked = { ...segment, rationale: { steps: [...parts], emotion, provenance: segment.labels!.provenance } } as Segment;
  return new Set(groundRationale(checked, config, vocabulary).map((issue) => issue.step - 1));
}

/** The offline judge (rules teacher, role eval-judge). */
export function rulesEvalJudgement(segment: Segment, options: EvalJudgeOptions): EvalJudgement {
  const label = options.label;
  if (options.task === 'rationale') {
    const steps = options.steps;
    if (steps.length === 0) return { steps: [], faithfulness: 0, labelHit: false, reason: 'The answer has no steps.' };
    const verdict = verdictNames(steps[steps.length - 1], label) ? 1 : 0;
    const reasoning = steps.slice(0, -1);
    const bad = ungroundedParts(segment, reasoning, label, STEP_GROUNDING);
    const scores = [...reasoning.map((_, i) => (bad.has(i) ? 0 : 1)), verdict];
    const why: string[] = [];
    if (bad.size)
      why.push(`step${bad.size === 1 ? '' : 's'} ${[...bad].map((i) => i + 1).join(', ')} cite${bad.size === 1 ? 's' : ''} nothing the record holds`);
    if (!verdict) why.push(`the last step does not conclude ${label}`);
    return {
      steps: scores,
      faithfulness: 0,
      labelHit: verdict === 1,
      reason: why.length ? `${why.join('; ')}.` : 'Every step is grounded and the verdict names the label.',
    };
  }
  const sentences = options.answer
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ungroundedParts(segment, sentences, label, SENTENCE_GROUNDING);
  const faithfulness = sentences.length === 0 ? 0 : Math.round((10 * (sentences.length - bad.size)) / sentences.length);
  const hit = labelHit(options.answer, label);
  const why: string[] = [];
  if (sentences.length === 0) why.push('the answer is empty');
  if (bad.size) why.push(`${bad.size} of ${sentences.length} sentences cite what the record does not hold`);
  if (!hit) why.push(`it does not name ${label}`);
  return {
    steps: [],
    faithfulness,
    labelHit: hit,
    reason: why.length ? `${why.join('; ')}.` : 'Every cited cue is in the record and the answer names the label.',
  };
}

/**
 * The eval-judge role: `emoforge eval`'s, never a pipeline stage's, so it stays out of the
 * pipeline's teacher fingerprint. What a model under evaluation said is data, like a transcript.
 */
export const evalJudgeTask = teacherTask({
  role: 'eval-judge',
  template: EVAL_JUDGE_TEMPLATE,
  output: EvalJudgement,
  options: EvalJudgeOptions,
  check: evalJudgeProblems,
  promptValues: (options) => ({
    task: options.task.replace(/[^a-z_]/g, ''),
    question: dataBlock('question', options.question),
    answer: dataBlock('answer', options.answer),
    reference: dataBlock('reference', options.reference),
    stepCount: String(options.steps.length),
  }),
  rules: rulesEvalJudgement,
});

/** Asks the judge about one answer. */
export async function judgeAnswer(
  judge: Teacher,
  segment: Segment,
  options: EvalJudgeOptions,
  signal: AbortSignal,
): Promise<{ value: EvalJudgement; teacher: string; model: string; template: string; cached: boolean }> {
  const response = await judge.generate(teacherRequest(evalJudgeTask, { template: EVAL_JUDGE_TEMPLATE, segment, options }), signal);
  return {
    value: response.value,
    teacher: response.teacher,
    model: response.model,
    template: response.template ?? EVAL_JUDGE_TEMPLATE,
    cached: response.cached,
  };
}

export { answerSteps };
