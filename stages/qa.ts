// Writes question-answer items with the `qa` teacher role: StimuVAR-style multiple choice (the
// question lists candidate labels, the answer among distractors from `labelSet`; the target is the
// label), open questions (why the person feels the emotion, which cue points to it most strongly)
// and attribute questions (facial expression, tone of voice, what was said) in Emo-CFG's
// attribute → expression → emotion spirit. Which kinds are asked is the `kinds` option.
import { z } from 'zod';
import { Provenance, QAItem, type Segment } from '../schemas/records.ts';
import type { StageContext } from '../pipelines/stage.ts';
import { generateFor, teacherStage } from '../pipelines/teachers/generate.ts';
import { compactJson } from '../pipelines/teachers/prompts.ts';
import { writeQuestions } from '../pipelines/teachers/rules-teacher.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';

/**
 * The one default label set MCQ options come from, for the stage and for any other caller of the
 * role: the six emotions of the demo manifest (disgust has no clip there, so it is no distractor).
 */
const DEFAULT_LABEL_SET = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful'] as const;

/** Every question kind, in the order items are written. */
const QA_KINDS = QAItem.shape.kind.options;

/**
 * Question kinds to ask: 'mcq', 'open', 'attribute'; default all three. Put in the canonical order
 * (mcq, open, attribute) so the order written in a config never changes cache keys.
 */
const Kinds = z
  .array(QAItem.shape.kind)
  .min(1, 'kinds needs at least one of mcq, open, attribute')
  .transform((kinds) => QA_KINDS.filter((kind) => kinds.includes(kind)))
  .default([...QA_KINDS]);

/** What the `qa` role is told. The stage's config holds the label set to a stricter bar (see QAConfig). */
const QAOptions = z
  .object({
    /** Labels MCQ distractors are drawn from; only an MCQ needs 3 besides its answer. Default DEFAULT_LABEL_SET. */
    labelSet: z.array(z.string().regex(/\S/, 'labels are non-empty')).default([...DEFAULT_LABEL_SET]),
    kinds: Kinds,
  })
  .strict();
type QAOptions = z.output<typeof QAOptions>;

/**
 * What the teacher returns; the stage adds provenance to each item. May be empty: attribute
 * questions are skipped when their cue is missing, and they may be the only kind asked.
 */
export const QAOutput = z.object({ items: z.array(QAItem.omit({ provenance: true })) });
type QAAnswer = z.output<typeof QAOutput>;

/** What the prompt promises beyond the schema: the kinds asked for, 4 distinct MCQ options from the label set holding the answer. */
function qaProblems({ items }: QAAnswer, { labelSet, kinds }: QAOptions): string[] {
  const problems: string[] = [];
  const foreignKinds = [...new Set(items.map((item) => item.kind).filter((kind) => !kinds.includes(kind)))];
  if (foreignKinds.length) problems.push(`items: kinds ${JSON.stringify(foreignKinds)} were not asked for; write only ${JSON.stringify(kinds)}`);
  for (const kind of (['mcq', 'open'] as const).filter((k) => kinds.includes(k))) {
    if (!items.some((item) => item.kind === kind)) problems.push(`items: no '${kind}' item; write the ${kind} item(s) asked for`);
  }
  items.forEach((item, i) => {
    if (item.kind !== 'mcq') {
      if (item.options?.length) problems.push(`items.${i}.options: only mcq items have options; leave them out of '${item.kind}' items`);
      return;
    }
    const choices = item.options ?? [];
    if (choices.length !== 4 || new Set(choices).size !== 4)
      problems.push(`items.${i}.options: give exactly 4 different options (the answer and 3 distractors)`);
    const foreign = choices.filter((c) => !labelSet.includes(c));
    if (foreign.length) problems.push(`items.${i}.options: ${JSON.stringify(foreign)} are not in the label set ${JSON.stringify(labelSet)}`);
    if (!item.answer || !choices.includes(item.answer)) problems.push(`items.${i}.answer: '${item.answer}' must be one of the options`);
  });
  return problems;
}

export const qaTask = teacherTask({
  role: 'qa',
  // The id predates the open and attribute kinds; kept so a re-run over older records replaces their items.
  template: 'qa.mcq.rules@1',
  output: QAOutput,
  options: QAOptions,
  check: qaProblems,
  promptValues: ({ labelSet, kinds }) => ({ labelSet: compactJson(labelSet), kinds: compactJson(kinds) }),
  rules: writeQuestions,
});

export const QAConfig = z
  .object({
    /** Template id@version that shapes the questions; default 'qa.mcq.rules@1' (see qaTask). */
    template: Provenance.shape.template.default(qaTask.template),
    /** Labels the MCQ options are drawn from (answer + 3 distractors); default DEFAULT_LABEL_SET. */
    labelSet: z
      .array(z.string().trim().min(1))
      .min(4, 'labelSet needs at least 4 labels: the answer and 3 distractors')
      .refine((labels) => new Set(labels).size === labels.length, 'labelSet must not repeat a label')
      .default([...DEFAULT_LABEL_SET]),
    kinds: Kinds,
  })
  .strict();
export type QAConfig = z.output<typeof QAConfig>;

export const qaStage = teacherStage({
  name: 'qa',
  version: 2,
  configSchema: QAConfig,
  reads: ['labels'],
  adds: ['qa'],
  tasks: [qaTask],
  async run(segment: Segment, config: QAConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, qaTask, config.template, segment, { labelSet: config.labelSet, kinds: config.kinds });
    // Items from other QA templates stay; a re-run of this template replaces its own items.
    const kept = (segment.qa ?? []).filter((item) => item.provenance.template !== config.template && item.provenance.template !== provenance.template);
    return { ...segment, qa: [...kept, ...value.items.map((item) => ({ ...item, provenance }))] };
  },
});
