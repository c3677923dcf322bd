// Labels a segment: primary emotion, open-vocabulary emotion words (empty for neutral, as AffectGPT
// reads it), sentiment, valence and arousal, with the teacher configured for the `labels` role.
import { z } from 'zod';
import { Labels, Provenance, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';
import { generateFor } from '../pipelines/teachers/generate.ts';

export const LabelsConfig = z.object({
  /** Template id@version that shapes the labels; default 'labels.rules@1'. */
  template: Provenance.shape.template.default('labels.rules@1'),
})
  .strict();
export type LabelsConfig = z.output<typeof LabelsConfig>;

/** What the teacher returns; the stage adds provenance. */
export const LabelsOutput = Labels.omit({ provenance: true });

export const labelsStage: SegmentStage<LabelsConfig> = {
  kind: 'segment',
  name: 'labels',
  version: 1,
  configSchema: LabelsConfig,
  reads: ['description'],
  adds: ['labels'],
  cache: true,
  teacherRoles: ['labels'],
  async run(segment: Segment, config: LabelsConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, 'labels', config.template, segment, LabelsOutput);
    return { ...segment, labels: { ...value, provenance } };
  },
};
