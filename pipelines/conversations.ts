// Packages a segment's generated fields as LLaVA-style conversations, one per training task. The first
// human turn carries the <video> and <audio> placeholders, then the subtitle as data inside
// <Subtitle>…</Subtitle>, then the question (AffectGPT's slot order). The transcript is escaped so
// that nothing it contains can close the subtitle tags or inject a media placeholder.
import type { Provenance, Segment } from '../schemas/records.ts';
import type { Task, Turn } from '../schemas/sample.ts';

export interface ConversationSample {
  readonly task: Task;
  readonly conversations: Turn[];
  readonly provenance: Provenance;
}

const DESCRIPTION_QUESTION = 'Describe the emotional state of the person in detail, citing visual, acoustic and textual clues.';
const OV_LABELS_QUESTION = 'Which emotions does the person clearly show? Answer with a comma-separated list of emotion words.';
const RATIONALE_QUESTION = 'Reason step by step about the emotion of the person, one cue per step, and end with "Step N: predicted emotion is X".';

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
  return text.replace(/<\s*(video|audio|image)\s*>/gi, '[$1]');
}

function humanTurn(segment: Segment, question: string): Turn {
  const subtitle = escapeSubtitle(segment.transcript?.text ?? '');
  return { from: 'human', value: `<video>\n<audio>\nThe subtitle of this video is: <Subtitle>${subtitle}</Subtitle>. ${neutralisePlaceholders(question)}` };
}

function pair(segment: Segment, question: string, answer: string): Turn[] {
  return [humanTurn(segment, question), { from: 'gpt', value: neutralisePlaceholders(answer) }];
}

/** The training conversations a segment supports, in task order; tasks whose field is missing are skipped. */
export function buildSamples(segment: Segment): ConversationSample[] {
  const samples: ConversationSample[] = [];
  if (segment.description) {
    samples.push({ task: 'description', conversations: pair(segment, DESCRIPTION_QUESTION, segment.description.text), provenance: segment.description.provenance });
  }
  if (segment.labels) {
    const answer = segment.labels.openset.length > 0 ? segment.labels.openset.join(', ') : NEUTRAL_ANSWER;
    samples.push({ task: 'ov_labels', conversations: pair(segment, OV_LABELS_QUESTION, answer), provenance: segment.labels.provenance });
  }
  for (const item of segment.qa ?? []) {
    if (item.kind !== 'mcq') continue;
    samples.push({ task: 'mcq', conversations: pair(segment, item.question, item.answer), provenance: item.provenance });
  }
  if (segment.rationale) {
    samples.push({ task: 'rationale', conversations: pair(segment, RATIONALE_QUESTION, segment.rationale.steps.join('\n')), provenance: segment.rationale.provenance });
  }
  return samples;
}
