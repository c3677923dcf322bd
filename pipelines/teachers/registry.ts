// Which teacher answers which role. The config names teachers (each of one `kind`) and maps roles to
// them; every role defaults to the offline `rules` teacher, which is always defined unless the config
// redefines the name, so an empty config runs with no network and no API key.
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { RULES_MODEL, RulesTeacher } from './rules-teacher.ts';
import type { Teacher, TeacherRegistry, TeacherRole } from './teacher.ts';

export const TEACHER_ROLES = ['describe', 'labels', 'qa', 'rationale'] as const satisfies readonly TeacherRole[];

/** The teacher every role uses unless the config says otherwise. */
export const DEFAULT_TEACHER = 'rules';

const TeacherName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'teacher names are lowercase [a-z0-9_.-]');

/** The offline teacher that writes text from the record's cues. */
export const RulesTeacherConfig = z.object({
  kind: z.literal('rules'),
  /** Model tag written into provenance and cache keys; default 'rules-v2'. */
  model: z.string().min(1).default(RULES_MODEL),
});

/** One member per teacher kind; OpenAI-compatible teachers join this union. */
export const TeacherConfig = z.discriminatedUnion('kind', [RulesTeacherConfig]);
export type TeacherConfig = z.infer<typeof TeacherConfig>;

const RolesConfig = z.object(
  Object.fromEntries(TEACHER_ROLES.map((role) => [role, TeacherName.default(DEFAULT_TEACHER)])) as Record<TeacherRole, z.ZodDefault<typeof TeacherName>>,
).strict();

export const TeachersConfig = z
  .object({
    /** Teachers by name; a `rules` teacher is added when absent. Default: `{ rules: { kind: 'rules' } }`. */
    teachers: z.record(TeacherName, TeacherConfig).prefault({}),
    /** Teacher name per role; every role defaults to `rules`. */
    roles: RolesConfig.prefault({}),
  })
  .strict()
  .transform((config) => ({
    teachers: { [DEFAULT_TEACHER]: { kind: 'rules' as const, model: RULES_MODEL }, ...config.teachers },
    roles: config.roles,
  }))
  .superRefine((config, ctx) => {
    const defined = Object.keys(config.teachers).sort();
    for (const role of TEACHER_ROLES) {
      const name = config.roles[role];
      if (!(name in config.teachers)) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', role],
          message: `role '${role}' uses teacher '${name}', which is not defined under teachers (defined: ${defined.join(', ')})`,
        });
      }
    }
  });
export type TeachersConfig = z.output<typeof TeachersConfig>;
export type TeachersConfigInput = z.input<typeof TeachersConfig>;

function createTeacher(name: string, config: TeacherConfig): Teacher {
  switch (config.kind) {
    case 'rules':
      return new RulesTeacher({ name, model: config.model });
  }
}

/**
 * Builds one teacher per configured name (shared by the roles that use it). Throws a ConfigError
 * naming the role and the missing teacher when a role points at a teacher that is not defined.
 */
export function createTeacherRegistry(config: TeachersConfigInput = {}): TeacherRegistry {
  const parsed = TeachersConfig.safeParse(config);
  if (!parsed.success) {
    throw new ConfigError('teachers config', parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const teachers = new Map<string, Teacher>();
  for (const [name, teacherConfig] of Object.entries(parsed.data.teachers)) teachers.set(name, createTeacher(name, teacherConfig));
  const roles = parsed.data.roles;
  return {
    forRole(role: TeacherRole): Teacher {
      const teacher = (TEACHER_ROLES as readonly string[]).includes(role) ? teachers.get(roles[role]) : undefined;
      if (!teacher) throw new ConfigError('teachers config', [`roles.${role}: no teacher is configured for role '${role}' (roles: ${TEACHER_ROLES.join(', ')})`]);
      return teacher;
    },
  };
}
