// judge (optional, after the generation stages): the `judge` role scores everything generated for a
// segment from 1 to 10 on a rubric (faithful to the cues, consistent, useful) with a short reason,
// and segments below `minScore` are dropped `judge-below-threshold` with the score and reason in
// the detail. The verdict is kept on the segment (and cached per record: a re-run never pays the
// judge twice). Offline, the rules teacher applies the checks it can make without a model.
import { z } from 'zod';
import { Judgement, Provenance, type Segment } from '../schemas/records.ts';
import { drop, type DropResult, type StageContext } from '../pipelines/stage.ts';
import { generateFor, teacherStage } from '../pipelines/teachers/generate.ts';
import { writeJudgement } from '../pipelines/teachers/rules-teacher.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';

export const judgeTask = teacherTask({ role: 'judge', output: Judgement.omit({ provenance: true }), rules: writeJudgement });

export const JudgeConfig = z
  .object({
    /** Segments scored below this are dropped (judge-below-threshold); 1 keeps everything. Default 6. */
    minScore: z.number().int().min(1).max(10).default(6),
    /** Template id@version; default 'judge.rules@1' (maps to configs/prompts/judge.yaml on LLM teachers). */
    template: Provenance.shape.template.default(judgeTask.template),
  })
  .strict();
export type JudgeConfig = z.output<typeof JudgeConfig>;

export const judgeStage = teacherStage({
  name: 'judge',
  version: 1,
  configSchema: JudgeConfig,
  reads: ['description', 'labels'],
  adds: ['judge'],
  tasks: [judgeTask],
  // The threshold decides drops, not the verdict: changing it reuses every cached verdict's request.
  async run(segment: Segment, config: JudgeConfig, ctx: StageContext): Promise<Segment | DropResult> {
    const { value, provenance } = await generateFor(ctx, judgeTask, config.template, segment);
    if (value.score < config.minScore) {
      return drop(
        'judge-below-threshold',
        `judge ${provenance.teacher} (${provenance.model}) scored ${value.score}/10 < minScore ${config.minScore}: ${value.reason}`,
      );
    }
    return { ...segment, judge: { ...value, provenance } };
  },
});
