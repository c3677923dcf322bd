// Planted models for `emoforge eval` tests: answers of known quality served by the local
// OpenAI-compatible server, chosen by the request's `model`. Each knows the corpus's answer key (the
// rows' targets, looked up by the question as eval sends it) and answers:
//   always-right  the row's target, verbatim;
//   always-wrong  an option other than the target (mcq), one emotion word from a wheel centre the
//                 target does not hold and of the opposite sentiment (ov_labels), a rationale whose
//                 steps cite a pitch the record does not hold and whose verdict names another emotion,
//                 and a description that cites a pitch the record does not hold and names another emotion;
//   confusion     the target, except that where the label is happy it says "surprised" (the mcq answer
//                 and the ov_labels list) and concludes "predicted emotion is surprised" (rationale).
import type { ReadRow } from '../../pipelines/parquet/index.ts';
import { questionOf } from '../../pipelines/eval/index.ts';
import { mcqOptions } from '../../pipelines/eval/task-scores.ts';

export const PLANTED_MODELS = ['always-right', 'always-wrong', 'confusion'] as const;
export type PlantedModel = (typeof PLANTED_MODELS)[number];

interface Key {
  readonly task: string;
  readonly target: string;
  readonly label: string;
  readonly sentiment: string;
  readonly question: string;
}

/** The opposite emotion of a label, for wrong answers (never the label, never its sentiment). */
const WRONG: Record<string, string> = {
  happy: 'disgusted',
  surprised: 'disgusted',
  neutral: 'fearful',
  sad: 'happy',
  angry: 'happy',
  fearful: 'happy',
  disgusted: 'happy',
};

function questionText(body: any): string {
  const user = [...body.messages].reverse().find((m: any) => m.role === 'user');
  const content = user?.content;
  if (typeof content === 'string') return content;
  return (content as any[]).find((p) => p.type === 'text')?.text ?? '';
}

export class PlantedModels {
  private readonly key = new Map<string, Key>();
  /** How many images and audio parts each answered request carried, by question. */
  readonly media = new Map<string, { images: number; audio: number; video: number }>();

  constructor(rows: readonly ReadRow[]) {
    for (const row of rows) {
      const question = questionOf(row);
      const target = (row.conversations as { from: string; value: string }[]).find((t) => t.from === 'gpt')!.value;
      this.key.set(question, { task: String(row.task), target, label: String(row.primary_emotion), sentiment: String(row.sentiment), question });
    }
  }

  /** The answer `model` gives to a request (for the server's `chat.content`). */
  answer(body: any): string {
    const question = questionText(body);
    const key = this.key.get(question);
    if (!key) return 'I do not know.';
    const parts = Array.isArray(body.messages.at(-1).content) ? (body.messages.at(-1).content as any[]) : [];
    this.media.set(question, {
      images: parts.filter((p) => p.type === 'image_url').length,
      audio: parts.filter((p) => p.type === 'input_audio').length,
      video: parts.filter((p) => p.type === 'video_url').length,
    });
    const model = body.model as PlantedModel;
    if (model === 'always-right') return key.target;
    if (model === 'confusion') return key.label === 'happy' ? confused(key) : key.target;
    return wrong(key);
  }
}

function confused(key: Key): string {
  switch (key.task) {
    case 'mcq':
    case 'ov_labels':
      return 'surprised';
    case 'rationale':
      return key.target.replace(/predicted emotion is \w+/i, 'predicted emotion is surprised');
    default:
      return key.target;
  }
}

function wrong(key: Key): string {
  const other = WRONG[key.label] ?? 'fearful';
  switch (key.task) {
    case 'mcq':
      return mcqOptions(key.question)!.find((o) => o !== key.target)!;
    case 'ov_labels':
      return other;
    case 'rationale':
      return `Step 1: The mean pitch is 987 Hz, which is extreme.\nStep 2: predicted emotion is ${other}`;
    default:
      return `The mean pitch is 987 Hz, which shows that the person is ${other}.`;
  }
}
