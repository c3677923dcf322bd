// Packages a segment's generated fields as LLaVA-style conversations, one per training task. The first
// human turn carries the <video> and <audio> placeholders, then the subtitle as data inside
// <Subtitle>…</Subtitle>, then the question (AffectGPT's slot order). The transcript is escaped so
// that nothing it contains can close the subtitle tags or inject a media placeholder.
// qra packages the rationale as the Two-Stage recipe's Q → R → A: the reasoning in one gpt turn, then
// "So what is the emotion?" and the answer alone in the next, so the student learns the answer from
// its own reasoning. It is opt-in: it trains on the same text as `rationale`, and a corpus usually
// wants one of the two.
import type { Provenance, QAItem, Segment } from '../schemas/records.ts';
import type { Task, Turn } from '../schemas/sample.ts';

export interface ConversationSample {
  readonly task: Task;
  readonly conversations: Turn[];
  readonly provenance: Provenance;
  /** position among this segment's samples of the same task (0 for single-sample tasks), for stable row ids */
  readonly ordinal: number;
}

/**
 * How the first human turn presents the media and the subtitle:
 * - llava: `<video>\n<audio>\n` then the subtitle and question (LLaVA / ShareGPT, Emotion-Qwen, VidEmo);
 * - affectgpt: AffectGPT's slots `<Audio><AudioHere></Audio> <Video><ImageHere></Video>`, the
 *   subtitle, then "Now answer my question based on what you have seen, heard, and subtitles.";
 * - openai: no placeholder in the text; media travel as message content parts (see export jsonl).
 */
export const CONVERSATION_TEMPLATES = ['llava', 'affectgpt', 'openai'] as const;
export type ConversationTemplate = (typeof CONVERSATION_TEMPLATES)[number];

export interface BuildSamplesOptions {
  /** Tasks to package (default DEFAULT_TASKS); a task whose field the segment lacks is skipped either way. */
  readonly tasks?: readonly Task[];
  /** Default 'llava'. */
  readonly template?: ConversationTemplate;
}

/** Everything but qra, which repackages the rationale and is asked for explicitly. */
export const DEFAULT_TASKS: readonly Task[] = ['description', 'ov_labels', 'mcq', 'open_qa', 'attribute_qa', 'rationale'];

const DESCRIPTION_QUESTION = 'Describe the emotional state of the person in detail, citing visual, acoustic and textual clues.';
const OV_LABELS_QUESTION = 'Which emotions does the person clearly show? Answer with a comma-separated list of emotion words.';
const RATIONALE_QUESTION = 'Reason step by step about the emotion of the person, one cue per step, and end with "Step N: predicted emotion is X".';
const QRA_QUESTION = 'What emotion does the person feel? Reason step by step about the visual, acoustic and textual cues first.';
/** The second human turn of qra (Two-Stage: Q → R, then A). */
export const QRA_FOLLOW_UP = 'So what is the emotion?';
const VERDICT_STEP = /^\s*(step\s+\d+\s*:\s*)?predicted emotion is\b/i;

const QA_TASKS: Record<QAItem['kind'], Task> = { mcq: 'mcq', open: 'open_qa', attribute: 'attribute_qa' };

/** What an empty openset is written as: AffectGPT reads an empty list as neutral. */
export const NEUTRAL_ANSWER = 'neutral';

/**
 * Transcript as inert text: `&`, `<` and `>` become entities, so "</Subtitle>", "<video>" or any
 * other tag in what was said stays data; whitespace (newlines included) collapses to single spaces.
 */
export function escapeSubtitle(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Media placeholders in target text would be expanded by trainers; teacher text must never carry them. */
function neutralisePlaceholders(text: string): string {
  return text.replace(/<\s*\/?\s*(video|audio|image|multi)(here)?\s*>/gi, (_, kind: string, here: string | undefined) => `[${kind}${here ?? ''}]`);
}

function humanTurn(segment: Segment, question: string, template: ConversationTemplate): Turn {
  const subtitle = `The subtitle of this video is: <Subtitle>${escapeSubtitle(segment.transcript?.text ?? '')}</Subtitle>.`;
  const asked = neutralisePlaceholders(question);
  switch (template) {
    case 'affectgpt':
      return {
        from: 'human',
        value: `<Audio><AudioHere></Audio> <Video><ImageHere></Video> ${subtitle} Now answer my question based on what you have seen, heard, and subtitles. ${asked}`,
      };
    case 'openai':
      return { from: 'human', value: `${subtitle} ${asked}` };
    default:
      return { from: 'human', value: `<video>\n<audio>\n${subtitle} ${asked}` };
  }
}

/** The training conversations a segment supports, in task order; tasks whose field is missing are skipped. */
export function buildSamples(segment: Segment, options: BuildSamplesOptions = {}): ConversationSample[] {
  const wanted = new Set<Task>(options.tasks ?? DEFAULT_TASKS);
  const template = options.template ?? 'llava';
  const pair = (seg: Segment, question: string, answer: string): Turn[] => [
    humanTurn(seg, question, template),
    { from: 'gpt', value: neutralisePlaceholders(answer) },
  ];
  const samples: ConversationSample[] = [];
  if (wanted.has('description') && segment.description) {
    samples.push({
      task: 'description',
      conversations: pair(segment, DESCRIPTION_QUESTION, segment.description.text),
      provenance: segment.description.provenance,
      ordinal: 0,
    });
  }
  if (wanted.has('ov_labels') && segment.labels) {
    const answer = segment.labels.openset.length > 0 ? segment.labels.openset.join(', ') : NEUTRAL_ANSWER;
    samples.push({ task: 'ov_labels', conversations: pair(segment, OV_LABELS_QUESTION, answer), provenance: segment.labels.provenance, ordinal: 0 });
  }
  // One sample per QA item; the three kinds keep the order mcq, open, attribute whatever order the items came in.
  for (const kind of ['mcq', 'open', 'attribute'] as const) {
    const task = QA_TASKS[kind];
    if (!wanted.has(task)) continue;
    let ordinal = 0;
    for (const item of segment.qa ?? []) {
      if (item.kind !== kind) continue;
      samples.push({ task, conversations: pair(segment, item.question, item.answer), provenance: item.provenance, ordinal: ordinal++ });
    }
  }
  if (wanted.has('rationale') && segment.rationale) {
    samples.push({
      task: 'rationale',
      conversations: pair(segment, RATIONALE_QUESTION, segment.rationale.steps.join('\n')),
      provenance: segment.rationale.provenance,
      ordinal: 0,
    });
  }
  if (wanted.has('qra') && segment.rationale) {
    // The reasoning turn must not give the answer away: the closing "predicted emotion is X" step moves to A.
    const reasoning = segment.rationale.steps.filter((step) => !VERDICT_STEP.test(step));
    if (reasoning.length > 0) {
      samples.push({
        task: 'qra',
        conversations: [
          ...pair(segment, QRA_QUESTION, reasoning.join('\n')),
          { from: 'human', value: QRA_FOLLOW_UP },
          { from: 'gpt', value: neutralisePlaceholders(segment.rationale.emotion) },
        ],
        provenance: segment.rationale.provenance,
        ordinal: 0,
      });
    }
  }
  return samples;
}
