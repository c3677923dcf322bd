// Labels a segment: primary emotion, open-vocabulary emotion words (empty for neutral, as AffectGPT
// reads it), sentiment, valence and arousal, with the teacher configured for the `labels` role.
import { Labels } from '../schemas/records.ts';
import { answerStage } from '../pipelines/teachers/generate.ts';
import { writeLabels } from '../pipelines/teachers/rules-teacher.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';

/** What the teacher returns; the stage adds provenance. */
export const LabelsOutput = Labels.omit({ provenance: true });

export const labelsTask = teacherTask({ role: 'labels', output: LabelsOutput, rules: writeLabels });

export const labelsStage = answerStage({ task: labelsTask, field: 'labels', version: 1, reads: ['description'] });
