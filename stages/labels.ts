// Labels a segment: primary emotion, open-vocabulary emotion words (empty for neutral, as AffectGPT
// reads it), sentiment, valence and arousal, with the teacher configured for the `labels` role.
import { z } from 'zod';
import { Labels, Provenance, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';

export const LabelsConfig = z.object({
  /** Template id@version that shapes the labels; default 'labels.rules@1'. */
  template: Provenance.shape.template.default('labels.rules@1'),
});
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
    const teacher = ctx.teachers.forRole('labels');
    const response = await teacher.generate(
      { role: 'labels', template: config.template, segment, schema: LabelsOutput },
      ctx.signal,
    );
    if (!response.cached) ctx.work.add('teacher');
    const provenance = { teacher: response.teacher, model: response.model, template: config.template };
    return { ...segment, labels: { ...response.value, provenance } };
  },
};
