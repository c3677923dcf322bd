// The one way a stage asks its role's teacher for a value: parses the role's options, counts the
// call as work only when it was not served from a cache, and returns the provenance every generated
// field carries. Also the stage that is nothing but one such answer stored in one field.
import { z } from 'zod';
import { Provenance, type Segment } from '../../schemas/records.ts';
import type { SegmentStage, StageContext } from '../stage.ts';
import { teacherRequest, type AnyTeacherTask } from './task.ts';
import type { TeacherMedia, TeacherTask } from './teacher.ts';

export async function generateFor<T, O>(
  ctx: StageContext,
  task: TeacherTask<T, O>,
  template: string,
  segment: Segment,
  options?: z.input<TeacherTask<T, O>['options']>,
  media?: TeacherMedia,
): Promise<{ value: T; provenance: Provenance }> {
  const request = teacherRequest(task, { template, segment, options, media });
  const response = await ctx.teachers.forRole(task.role).generate(request, ctx.signal);
  if (!response.cached) ctx.work.add('teacher');
  return { value: response.value, provenance: { teacher: response.teacher, model: response.model, template: response.template ?? template } };
}

/** The config of a stage whose one setting is the template its role answers with (default: the role's). */
function templateConfig(task: Pick<TeacherTask<unknown, unknown>, 'template'>) {
  return z
    .object({
      /** Template id@version; default the role's rules template, which maps to configs/prompts/<role>.yaml on LLM teachers. */
      template: Provenance.shape.template.default(task.template),
    })
    .strict();
}
type TemplateConfig = z.output<ReturnType<typeof templateConfig>>;

/**
 * A segment stage that asks teachers: cached per record (a re-run never pays a teacher twice), its
 * teacher roles those of its tasks.
 */
export function teacherStage<C>(
  spec: Omit<SegmentStage<C>, 'kind' | 'cache' | 'teacherRoles'> & { readonly tasks: readonly AnyTeacherTask[] },
): SegmentStage<C> {
  const { tasks, ...stage } = spec;
  return { kind: 'segment', cache: true, teacherRoles: tasks.map((task) => task.role), ...stage };
}

/** Segment fields that hold one teacher answer plus its provenance. */
type AnswerField = 'description' | 'labels' | 'rationale' | 'crosscheck';

/**
 * A stage that asks its role once per segment and stores the answer, with provenance, in `field`
 * (describe, labels, rationale, crosscheck). Its name is the role's.
 */
export function answerStage<F extends AnswerField, O>(spec: {
  readonly task: TeacherTask<Omit<NonNullable<Segment[F]>, 'provenance'>, O>;
  readonly field: F;
  readonly version: number;
  readonly reads: readonly string[];
}): SegmentStage<TemplateConfig> {
  const { task, field } = spec;
  return teacherStage({
    name: task.role,
    version: spec.version,
    configSchema: templateConfig(task),
    reads: spec.reads,
    adds: [field],
    tasks: [task],
    async run(segment: Segment, config: TemplateConfig, ctx: StageContext): Promise<Segment> {
      const { value, provenance } = await generateFor(ctx, task, config.template, segment);
      return { ...segment, [field]: { ...value, provenance } };
    },
  });
}
