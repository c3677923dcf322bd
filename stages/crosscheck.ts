// crosscheck (optional, after labels): a second teacher (the `crosscheck` role) labels the segment
// from the same description, cues and transcript, independently of the first. The filter's
// `consistency.teacher` check then drops records where the two disagree (label-mismatch-teacher),
// MER-Caption's agreement between independent labellers. On the offline rules teacher the second
// opinion is the first one; map the role to a different model for it to mean something.
import { z } from 'zod';
import { Labels, Provenance, type Segment } from '../schemas/records.ts';
import type { SegmentStage, StageContext } from '../pipelines/stage.ts';
import { generateFor } from '../pipelines/teachers/generate.ts';

export const CrosscheckConfig = z
  .object({
    /** Template id@version; default 'crosscheck.rules@1' (maps to configs/prompts/crosscheck.yaml on LLM teachers). */
    template: Provenance.shape.template.default('crosscheck.rules@1'),
  })
  .strict();
export type CrosscheckConfig = z.output<typeof CrosscheckConfig>;

const CrosscheckOutput = Labels.omit({ provenance: true });

export const crosscheckStage: SegmentStage<CrosscheckConfig> = {
  kind: 'segment',
  name: 'crosscheck',
  version: 1,
  configSchema: CrosscheckConfig as unknown as z.ZodType<CrosscheckConfig>,
  reads: ['description'],
  adds: ['crosscheck'],
  cache: true,
  teacherRoles: ['crosscheck'],
  async run(segment: Segment, config: CrosscheckConfig, ctx: StageContext): Promise<Segment> {
    const { value, provenance } = await generateFor(ctx, 'crosscheck', config.template, segment, CrosscheckOutput);
    return { ...segment, crosscheck: { ...value, provenance } };
  },
};
