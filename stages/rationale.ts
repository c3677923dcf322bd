// Writes an MME-Emotion style step-wise rationale ("Step 1: … Step N: predicted emotion is X"), each
// step citing a cue the record really has, with the teacher configured for the `rationale` role.
// There is one rationale per segment: the export packages the same steps either as one answer
// (`rationale`) or as the Two-Stage Q → R → A (`qra`: the steps before the verdict, then the emotion).
import type { z } from 'zod';
import { Rationale } from '../schemas/records.ts';
import { answerStage } from '../pipelines/teachers/generate.ts';
import { writeRationale } from '../pipelines/teachers/rules-teacher.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';

/** What the teacher returns; the stage adds provenance. */
export const RationaleOutput = Rationale.omit({ provenance: true });
type RationaleAnswer = z.output<typeof RationaleOutput>;

/** What the prompt promises beyond the schema: numbered steps, the last naming the emotion. */
function rationaleProblems({ steps, emotion }: RationaleAnswer): string[] {
  const problems: string[] = [];
  steps.forEach((step, i) => {
    if (!step.startsWith(`Step ${i + 1}: `)) problems.push(`steps.${i}: must start with "Step ${i + 1}: "`);
  });
  const last = steps[steps.length - 1] ?? '';
  if (!last.toLowerCase().includes(`predicted emotion is ${String(emotion).toLowerCase()}`)) {
    problems.push(`steps.${steps.length - 1}: the last step must be "Step ${steps.length}: predicted emotion is ${emotion}"`);
  }
  return problems;
}

export const rationaleTask = teacherTask({ role: 'rationale', output: RationaleOutput, check: rationaleProblems, rules: writeRationale });

export const rationaleStage = answerStage({ task: rationaleTask, field: 'rationale', version: 1, reads: ['labels'] });
