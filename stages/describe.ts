// Writes the emotion description of a segment (MER-Caption order: video, audio, subtitle, inference)
// with the teacher configured for the `describe` role. Missing cues are fine: the teacher says what
// was not measured instead of inventing it.
import { Description } from '../schemas/records.ts';
import { answerStage } from '../pipelines/teachers/generate.ts';
import { writeDescription } from '../pipelines/teachers/rules-teacher.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';

/** What the teacher returns; the stage adds provenance. */
export const DescribeOutput = Description.omit({ provenance: true });

export const describeTask = teacherTask({ role: 'describe', output: DescribeOutput, rules: writeDescription });

export const describeStage = answerStage({ task: describeTask, field: 'description', version: 1, reads: ['transcript', 'cues.acoustic', 'cues.lexical'] });
