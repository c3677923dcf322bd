// crosscheck (optional, after labels): a second teacher (the `crosscheck` role) labels the segment
// from the same description, cues and transcript, independently of the first. The filter's
// `consistency.teacher` check then drops records where the two disagree (label-mismatch-teacher),
// MER-Caption's agreement between independent labellers. On the offline rules teacher the second
// opinion is the first one; map the role to a different model for it to mean something.
import { answerStage } from '../pipelines/teachers/generate.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';
import { labelsTask } from './labels.ts';

/** The labels role's answer and writer under its own name, so configs map it to another teacher. */
export const crosscheckTask = teacherTask({ ...labelsTask, role: 'crosscheck', template: 'crosscheck.rules@1' });

export const crosscheckStage = answerStage({ task: crosscheckTask, field: 'crosscheck', version: 1, reads: ['description'] });
