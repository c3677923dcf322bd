// The one way a stage asks its role's teacher for a value: counts the call as work only when it was
// not served from a cache, and returns the provenance every generated field carries.
import type { z } from 'zod';
import type { Provenance, Segment } from '../../schemas/records.ts';
import type { StageContext } from '../stage.ts';
import type { TeacherMedia, TeacherRole } from './teacher.ts';

export async function generateFor<T>(
  ctx: StageContext,
  role: TeacherRole,
  template: string,
  segment: Segment,
  schema: z.ZodType<T>,
  options?: Readonly<Record<string, unknown>>,
  media?: TeacherMedia,
): Promise<{ value: T; provenance: Provenance }> {
  const response = await ctx.teachers.forRole(role).generate({ role, template, segment, schema, options, media }, ctx.signal);
  if (!response.cached) ctx.work.add('teacher');
  return { value: response.value, provenance: { teacher: response.teacher, model: response.model, template: response.template ?? template } };
}
