// Writes question-answer items with the `qa` teacher role: StimuVAR-style multiple choice (the
// question lists candidate labels, the answer among distractors from `labelSet`; the target is the
// label), open questions (why the person feels the emotion, which cue points to it most strongly)
// and attribute questions (facial expression, tone of voice, what was said) in Emo-CFG's
// attribute → expression → emotion spirit. Which kinds are asked is the `kinds` option.
import { z } from 'zod';
import { Provenance, QAItem, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';
import { generateFor } from '../pipelines/teachers/generate.ts';

/** The six emotions of the demo manifest. */
export const DEMO_LABEL_SET = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful'] as const;

/** Every question kind, in the order items are written. */
export const QA_KINDS = QAItem.shape.kind.options;
export type QAKind = QAItem['kind'];

export const QAConfig = z.object({
  /**
   * Template id@version that shapes the questions; default 'qa.mcq.rules@1' (the id predates the
   * open and attribute kinds; kept so a re-run over older records replaces their items).
   */
  template: Provenance.shape.template.default('qa.mcq.rules@1'),
  /** Labels the MCQ options are drawn from (answer + 3 distractors); default the six demo emotions. */
  labelSet: z
    .array(z.string().trim().min(1))
    .min(4, 'labelSet needs at least 4 labels: the answer and 3 distractors')
    .refine((labels) => new Set(labels).size === labels.length, 'labelSet must not repeat a label')
    .default([...DEMO_LABEL_SET]),
  /**
   * Question kinds to ask: 'mcq', 'open', 'attribute'; default all three. Put in the canonical
   * order (mcq, open, attribute) so the order written in the config never changes cache keys.
   */
  kinds: z
    .array(QAItem.shape.kind)
    .min(1, 'kinds needs at least one of mcq, open, attribute')
    .transform((kinds) => QA_KINDS.filter((kind) => kinds.includes(kind)))
    .default([...QA_KINDS]),
})
  .strict();
export type QAConfig = z.output<typeof QAConfig>;

/**
 * What the teacher returns; the stage adds provenance to each item. May be empty: attribute
 * questions are skipped when their cue is missing, and they may be the only kind asked.
 */
export const QAOutput = z.object({ items: z.array(QAItem.omit({ provenance: true })) });

export const qaStage: SegmentStage<QAConfig> = {
  kind: 'segment',
  name: 'qa',
  version: 2,
  configSchema: QAConfig,
  reads: ['labels'],
  adds: ['qa'],
  cache: true,
  teacherRoles: ['qa'],
  async run(segment: Segment, config: QAConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, 'qa', config.template, segment, QAOutput, { labelSet: config.labelSet, kinds: config.kinds });
    // Items from other QA templates stay; a re-run of this template replaces its own items.
    const kept = (segment.qa ?? []).filter((item) => item.provenance.template !== config.template && item.provenance.template !== provenance.template);
    return { ...segment, qa: [...kept, ...value.items.map((item) => ({ ...item, provenance }))] };
  },
};
