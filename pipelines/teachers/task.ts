// A teacher role as one object: what it answers, what a stage may tell it, what an answer must
// also satisfy, which prompt placeholders its options fill, and how the offline rules teacher writes
// it. Each role's object lives with the stage that asks for it; the registry lists them, and every
// teacher reads the role from the request instead of switching over a closed list of names.
import { z } from 'zod';
import type { Segment } from '../../schemas/records.ts';
import { RecordError } from '../errors.ts';
import type { Placeholder } from './prompts.ts';
import type { TeacherMedia, TeacherRequest } from './teacher.ts';

export interface TeacherTask<Output, Options> {
  /** The role's name: what `roles.<role>` maps to a teacher, and the prompt file `<role>.yaml`. */
  readonly role: string;
  /** Template id@version stages ask for by default; a `.rules` id maps to the role's LLM prompt. */
  readonly template: string;
  /** What the teacher answers; LLM teachers get it as the structured-output schema. */
  readonly output: z.ZodType<Output>;
  /** What a stage tells the teacher, parsed once when the request is built (see teacherRequest). */
  readonly options: z.ZodType<Options>;
  /** What an answer promises beyond its schema; LLM answers and reviewers' edits are held to it. */
  readonly check?: (answer: Output, options: Options) => string[];
  /** The prompt placeholders this role's options fill; the rest keep the defaults in prompts.ts. */
  readonly promptValues?: (options: Options) => Partial<Record<Placeholder, string>>;
  /** The offline rules teacher's answer, checked against `output` like any teacher's. */
  readonly rules: (segment: Segment, options: Options) => unknown;
}

/** The options of a role that takes none: any option given is a mistake. */
export const NO_OPTIONS = z.object({}).strict();
export type NoOptions = z.output<typeof NO_OPTIONS>;

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
