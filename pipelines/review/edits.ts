// A reviewer's edit of a segment's generated text, validated exactly as a teacher's answer is: the
// stage's own output schema (the zod schema the teachers' structured output is checked with), then
// what the prompt templates promise beyond it (four distinct MCQ options holding the answer, steps
// "Step i: …" ending in "predicted emotion is X"). Applied text carries provenance `teacher: human`
// with the reviewer's name as the model.
import { z } from 'zod';
import { EMOTIONS } from '../../schemas/emotion.ts';
import type { Provenance, QAItem, Segment } from '../../schemas/records.ts';
import type { Task } from '../../schemas/sample.ts';
import { DescribeOutput } from '../../stages/describe.ts';
import { LabelsOutput } from '../../stages/labels.ts';
import { QAOutput, qaTask } from '../../stages/qa.ts';
import { RationaleOutput, rationaleTask } from '../../stages/rationale.ts';
import { canonicalJson } from '../fingerprint.ts';

/** The template id human text is recorded under. */
export const HUMAN_TEMPLATE = 'review.human@1';
export const HUMAN_TEACHER = 'human';

/** The fields a reviewer may rewrite; each is the whole answer of that stage's teacher. */
export const SampleEdits = z
  .object({
    description: DescribeOutput.optional(),
    labels: LabelsOutput.optional(),
    /** every QA item of the segment, in order (an edit rewrites items; it neither adds nor removes them) */
    qa: QAOutput.optional(),
    rationale: RationaleOutput.optional(),
  })
  .strict()
  .refine((edits) => Object.values(edits).some((v) => v !== undefined), 'an edit changes at least one of description, labels, qa, rationale');
export type SampleEdits = z.infer<typeof SampleEdits>;

export type EditCheck = { readonly ok: true; readonly edits: SampleEdits } | { readonly ok: false; readonly error: string };

const QA_TASKS: Record<QAItem['kind'], Task> = { mcq: 'mcq', open: 'open_qa', attribute: 'attribute_qa' };

/** Checks an edit against the segment it was made on; the error says what to fix. */
export function checkEdits(segment: Segment, raw: unknown): EditCheck {
  const parsed = SampleEdits.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      error: parsed.error.issues
        .slice(0, 6)
        .map((i) => `${i.path.join('.') || 'edits'}: ${i.message}`)
        .join('; '),
    };
  const edits = parsed.data;
  const problems: string[] = [];
  if (edits.description && !segment.description) problems.push('description: the segment has no description to edit');
  if (edits.labels && !segment.labels) problems.push('labels: the segment has no labels to edit');
  if (edits.rationale && !segment.rationale) problems.push('rationale: the segment has no rationale to edit');
  if (edits.qa) {
    const original = segment.qa ?? [];
    if (edits.qa.items.length !== original.length)
      problems.push(`qa.items: give all ${original.length} items of the segment, in order (an edit rewrites items, it does not add or remove them)`);
    edits.qa.items.forEach((item, i) => {
      if (original[i] && item.kind !== original[i].kind) problems.push(`qa.items.${i}.kind: stays '${original[i].kind}'`);
    });
    // The label set the MCQ was drawn from: the known emotions and whatever the teacher offered.
    const labelSet = [...new Set([...EMOTIONS, ...original.flatMap((q) => q.options ?? [])])];
    const kinds = [...new Set(original.map((q) => q.kind))];
    problems.push(...(qaTask.check?.(edits.qa, { labelSet, kinds }) ?? []).map((p) => `qa.${p}`));
  }
  if (edits.rationale) problems.push(...(rationaleTask.check?.(edits.rationale, {}) ?? []).map((p) => `rationale.${p}`));
  if (problems.length) return { ok: false, error: problems.join('; ') };
  if (editedTasks(segment, edits).length === 0) return { ok: false, error: 'the edit changes nothing: accept the sample instead' };
  return { ok: true, edits };
}

/** The training tasks whose text an edit changes. */
export function editedTasks(segment: Segment, edits: SampleEdits): Task[] {
  const tasks = new Set<Task>();
  const differs = (a: unknown, b: unknown) => canonicalJson(a) !== canonicalJson(b);
  if (edits.description && segment.description && edits.description.text !== segment.description.text) tasks.add('description');
  if (edits.labels && segment.labels && differs(edits.labels, withoutProvenance(segment.labels))) tasks.add('ov_labels');
  if (edits.qa) {
    edits.qa.items.forEach((item, i) => {
      const original = segment.qa?.[i];
      if (original && differs(item, withoutProvenance(original))) tasks.add(QA_TASKS[item.kind]);
    });
  }
  if (edits.rationale && segment.rationale && differs(edits.rationale, withoutProvenance(segment.rationale))) tasks.add('rationale');
  return [...tasks].sort();
}

/** The segment with a checked edit applied: changed fields carry human provenance, the rest keep their teacher's. */
export function applyEdits(segment: Segment, edits: SampleEdits, reviewer: string): Segment {
  const human: Provenance = { teacher: HUMAN_TEACHER, model: reviewer, template: HUMAN_TEMPLATE };
  const next: Segment = { ...segment };
  const differs = (a: unknown, b: unknown) => canonicalJson(a) !== canonicalJson(b);
  if (edits.description && segment.description && edits.description.text !== segment.description.text)
    next.description = { ...edits.description, provenance: human };
  if (edits.labels && segment.labels && differs(edits.labels, withoutProvenance(segment.labels))) next.labels = { ...edits.labels, provenance: human };
  if (edits.qa && segment.qa) {
    next.qa = edits.qa.items.map((item, i) => (differs(item, withoutProvenance(segment.qa![i])) ? { ...item, provenance: human } : segment.qa![i]));
  }
  if (edits.rationale && segment.rationale && differs(edits.rationale, withoutProvenance(segment.rationale)))
    next.rationale = { ...edits.rationale, provenance: human };
  return next;
}

function withoutProvenance<T extends { provenance: Provenance }>(value: T): Omit<T, 'provenance'> {
  const { provenance: _provenance, ...rest } = value;
  return rest;
}

/** Per task: who wrote its text (teacher and model), for acceptance per teacher. */
export function taskTeachers(segment: Segment): Record<string, string> {
  const who = (p: Provenance) => `${p.teacher} (${p.model})`;
  const teachers: Record<string, string> = {};
  if (segment.description) teachers.description = who(segment.description.provenance);
  if (segment.labels) teachers.ov_labels = who(segment.labels.provenance);
  for (const item of segment.qa ?? []) teachers[QA_TASKS[item.kind]] ??= who(item.provenance);
  if (segment.rationale) teachers.rationale = who(segment.rationale.provenance);
  return teachers;
}
