// Writes an MME-Emotion style step-wise rationale ("Step 1: … Step N: predicted emotion is X"), each
// step citing a cue the record really has, with the teacher configured for the `rationale` role.
// There is one rationale per segment: the export packages the same steps either as one answer
// (`rationale`) or as the Two-Stage Q → R → A (`qra`: the steps before the verdict, then the emotion).
import { z } from 'zod';
import { Provenance, Rationale, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';
import { generateFor } from '../pipelines/teachers/generate.ts';

export const RationaleConfig = z.object({
  /** Template id@version that shapes the rationale; default 'rationale.rules@1'. */
  template: Provenance.shape.template.default('rationale.rules@1'),
})
  .strict();
export type RationaleConfig = z.output<typeof RationaleConfig>;

/** What the teacher returns; the stage adds provenance. */
export const RationaleOutput = Rationale.omit({ provenance: true });

export const rationaleStage: SegmentStage<RationaleConfig> = {
  kind: 'segment',
  name: 'rationale',
  version: 1,
  configSchema: RationaleConfig,
  reads: ['labels'],
  adds: ['rationale'],
  cache: true,
  teacherRoles: ['rationale'],
  async run(segment: Segment, config: RationaleConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, 'rationale', config.template, segment, RationaleOutput);
    return { ...segment, rationale: { ...value, provenance } };
  },
};
