// Writes the emotion description of a segment (MER-Caption order: video, audio, subtitle, inference)
// with the teacher configured for the `describe` role. Missing cues are fine: the teacher says what
// was not measured instead of inventing it.
import { z } from 'zod';
import { Description, Provenance, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';
import { generateFor } from '../pipelines/teachers/generate.ts';

export const DescribeConfig = z.object({
  /** Template id@version that shapes the description; default 'describe.rules@1'. */
  template: Provenance.shape.template.default('describe.rules@1'),
})
  .strict();
export type DescribeConfig = z.output<typeof DescribeConfig>;

/** What the teacher returns; the stage adds provenance. */
export const DescribeOutput = Description.omit({ provenance: true });

export const describeStage: SegmentStage<DescribeConfig> = {
  kind: 'segment',
  name: 'describe',
  version: 1,
  configSchema: DescribeConfig,
  reads: ['transcript', 'cues.acoustic', 'cues.lexical'],
  adds: ['description'],
  cache: true,
  teacherRoles: ['describe'],
  async run(segment: Segment, config: DescribeConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, 'describe', config.template, segment, DescribeOutput);
    return { ...segment, description: { ...value, provenance } };
  },
};
