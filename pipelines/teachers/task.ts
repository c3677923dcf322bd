// Building teacher role objects (TeacherTask, teacher.ts) and the requests made of them: the
// defaults most roles share, and the one place a role's options are parsed. Each role's object
// lives with the stage that asks for it; the registry lists them, and every teacher reads the role
// from the request instead of switching over a closed list of names.
import { z } from 'zod';
import type { Segment } from '../../schemas/records.ts';
import { RecordError } from '../errors.ts';
import type { Placeholder } from './prompts.ts';
import type { TeacherMedia, TeacherRequest, TeacherTask } from './teacher.ts';

/** The options of a role that takes none: any option given is a mistake. */
const NO_OPTIONS = z.object({}).strict();
type NoOptions = z.output<typeof NO_OPTIONS>;

/** A task of any output and options, as the registry's list holds them (it reads only `role`). */
export type AnyTeacherTask = TeacherTask<any, any>;

/** A task as a stage writes it: `template` defaults to `<role>.rules@1`, `options` to none. */
interface TaskSpec<Output, Options> {
  readonly role: string;
  readonly template?: string;
  readonly output: z.ZodType<Output>;
  readonly check?: (answer: Output, options: Options) => string[];
  readonly promptValues?: (options: Options) => Partial<Record<Placeholder, string>>;
  readonly rules: (segment: Segment, options: Options) => unknown;
}

/** A role's task object, with the defaults most roles share. */
export function teacherTask<Output, Options>(spec: TaskSpec<Output, Options> & { readonly options: z.ZodType<Options> }): TeacherTask<Output, Options>;
export function teacherTask<Output>(spec: TaskSpec<Output, NoOptions>): TeacherTask<Output, NoOptions>;
export function teacherTask(spec: TaskSpec<unknown, any> & { readonly options?: z.ZodType }): AnyTeacherTask {
  return { template: `${spec.role}.rules@1`, options: NO_OPTIONS, ...spec };
}

/**
 * The request for one answer, with the options parsed by the role's schema: bad options fail here,
 * as a record error naming the option, before any teacher sees them.
 */
export function teacherRequest<Output, Options>(
  task: TeacherTask<Output, Options>,
  request: { readonly template: string; readonly segment: Segment; readonly options?: unknown; readonly media?: TeacherMedia },
): TeacherRequest<Output, Options> {
  const parsed = task.options.safeParse(request.options ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `options${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
    throw new RecordError('teacher-bad-options', `role '${task.role}': ${issues.join('; ')}, got ${JSON.stringify(request.options)}`);
  }
  return { task, template: request.template, segment: request.segment, options: parsed.data, media: request.media };
}
