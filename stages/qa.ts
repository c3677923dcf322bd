// Writes StimuVAR-style multiple-choice questions: the question lists candidate labels (the answer
// among distractors from `labelSet`) and the target is the label. Uses the `qa` teacher role.
import { z } from 'zod';
import { Provenance, QAItem, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';
import { generateFor } from '../pipelines/teachers/generate.ts';

/** The six emotions of the demo manifest. */
export const DEMO_LABEL_SET = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful'] as const;

export const QAConfig = z.object({
  /** Template id@version that shapes the questions; default 'qa.mcq.rules@1'. */
  template: Provenance.shape.template.default('qa.mcq.rules@1'),
  /** Labels the options are drawn from (answer + 3 distractors); default the six demo emotions. */
  labelSet: z
    .array(z.string().trim().min(1))
    .min(4, 'labelSet needs at least 4 labels: the answer and 3 distractors')
    .refine((labels) => new Set(labels).size === labels.length, 'labelSet must not repeat a label')
    .default([...DEMO_LABEL_SET]),
});
export type QAConfig = z.output<typeof QAConfig>;

/** What the teacher returns; the stage adds provenance to each item. */
export const QAOutput = z.object({ items: z.array(QAItem.omit({ provenance: true })).min(1) });

export const qaStage: SegmentStage<QAConfig> = {
  kind: 'segment',
  name: 'qa',
  version: 1,
  configSchema: QAConfig,
  reads: ['labels'],
  adds: ['qa'],
  cache: true,
  teacherRoles: ['qa'],
  async run(segment: Segment, config: QAConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, 'qa', config.template, segment, QAOutput, { labelSet: config.labelSet });
    // Items from other QA templates stay; a re-run of this template replaces its own items.
    const kept = (segment.qa ?? []).filter((item) => item.provenance.template !== config.template);
    return { ...segment, qa: [...kept, ...value.items.map((item) => ({ ...item, provenance }))] };
  },
};
