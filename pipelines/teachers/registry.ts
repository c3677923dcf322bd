// Which teacher answers which role. The config names teachers (each of one `kind`) and maps roles to
// them; every role defaults to the offline `rules` teacher, which is always defined unless the config
// redefines the name, so an empty config runs with no network and no API key.
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { audioTask, visionTask } from '../../stages/clues.ts';
import { crosscheckTask } from '../../stages/crosscheck.ts';
import { describeTask } from '../../stages/describe.ts';
import { judgeTask } from '../../stages/judge.ts';
import { labelsTask } from '../../stages/labels.ts';
import { qaTask } from '../../stages/qa.ts';
import { rationaleTask } from '../../stages/rationale.ts';
import { translateTask } from '../../stages/translate.ts';
import { EndpointClient, EndpointConfig, sharedEndpointClient } from '../endpoints/index.ts';
import { ConfigError } from '../errors.ts';
import { evalJudgeTask } from '../eval/judge.ts';
import { canonicalJson } from '../fingerprint.ts';
import type { Store } from '../store/store.ts';
import { BatchConfig, BatchQueue } from './batch.ts';
import { LlmTeacher } from './llm-teacher.ts';
import { BUNDLED_PROMPTS_DIR } from './prompts.ts';
import { ProjectingTeacher, type ProjectionBasis } from './projecting-teacher.ts';
import { RULES_MODEL, RulesTeacher } from './rules-teacher.ts';
import type { AnyTeacherTask } from './task.ts';
import type { Teacher, TeacherRegistry } from './teacher.ts';
import { priceOf, TeacherUsageLedger } from './usage.ts';

/**
 * The roles pipeline stages ask for, each its stage's task object. In this order their teachers'
 * fingerprints make the pipeline's teacher fingerprint, so a new role goes at the end.
 */
const PIPELINE_TASKS: readonly AnyTeacherTask[] = [
  visionTask,
  audioTask,
  describeTask,
  labelsTask,
  qaTask,
  rationaleTask,
  crosscheckTask,
  judgeTask,
  translateTask,
];

/** The names of the pipeline's roles, in fingerprint order. */
export const PIPELINE_ROLES: readonly string[] = PIPELINE_TASKS.map((task) => task.role);

/** Every role: the pipeline's and `eval-judge` (emoforge eval), which never shapes a corpus, so it stays out of the pipeline fingerprint. */
const TEACHER_ROLES: readonly string[] = [...PIPELINE_ROLES, evalJudgeTask.role];

/** The teacher every role uses unless the config says otherwise. */
export const DEFAULT_TEACHER = 'rules';

const TeacherName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'teacher names are lowercase [a-z0-9_.-]');

/** The offline teacher that writes text from the record's cues. */
export const RulesTeacherConfig = z.object({
  kind: z.literal('rules'),
  /** Model tag written into provenance and cache keys; default RULES_MODEL. */
  model: z.string().min(1).default(RULES_MODEL),
});

/** Sampling parameters sent with every request; they join the teacher's fingerprint. */
export const LlmTeacherParams = z
  .object({
    /** Default 0 (MER-Caption's GPT setting; for open models the recipe used 0.7 with top_p 0.8 and max_tokens 512). */
    temperature: z.number().min(0).max(2).default(0),
    /** Nucleus sampling; default: the server's. */
    top_p: z.number().gt(0).max(1).optional(),
    /** Output token cap per request; default: the server's. */
    max_tokens: z.number().int().positive().optional(),
    /** Sampling seed, for servers that honour it; default none. */
    seed: z.number().int().optional(),
  })
  .strict();

/** USD per million tokens, for the cost table; default 0 (a local server). */
export const TeacherPrices = z
  .object({
    inputPerMTokUSD: z.number().nonnegative().default(0),
    outputPerMTokUSD: z.number().nonnegative().default(0),
  })
  .strict();

/** A teacher on an OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio). */
export const OpenAITeacherConfig = z
  .object({
    kind: z.literal('openai'),
    /** Where and how to call: baseURL, apiKeyEnv, model, timeouts, retries, limits. */
    endpoint: EndpointConfig,
    /** Sampling; default `{ temperature: 0 }`. */
    params: LlmTeacherParams.prefault({}),
    /** Default 0 / 0. */
    prices: TeacherPrices.prefault({}),
    /** 'json_schema' (strict structured outputs; default) or 'json_object' (JSON mode, the schema goes in the system prompt). */
    structuredOutput: z.enum(['json_schema', 'json_object']).default('json_schema'),
    /** Times an invalid answer is sent back with its error before the record is dropped. Default 1. */
    maxInvalidRetries: z.number().int().nonnegative().default(1),
    /** Folder of `<role>.yaml` prompt templates, relative to the working directory. Default: the bundled configs/prompts. */
    promptsDir: z.string().min(1).optional(),
    /** Send through the OpenAI Batch API (half price, within 24 h) instead of one request per answer; `{}` for the defaults. */
    batch: BatchConfig.optional(),
  })
  .strict();
export type OpenAITeacherConfig = z.output<typeof OpenAITeacherConfig>;

/** One member per teacher kind. */
export const TeacherConfig = z.discriminatedUnion('kind', [RulesTeacherConfig, OpenAITeacherConfig]);
export type TeacherConfig = z.infer<typeof TeacherConfig>;

const RolesConfig = z.object(Object.fromEntries(TEACHER_ROLES.map((role) => [role, TeacherName.default(DEFAULT_TEACHER)]))).strict();

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

/** What LLM teachers need from the run: the store for the response cache, the log, the run's signal. */
export interface TeacherRegistryContext {
  /** Without a store, endpoint responses are not cached (stage results still are, by the runner). */
  readonly store?: Store;
  /** Default: silent. */
  readonly log?: Logger;
  /** Aborting it stops every queued and in-flight teacher request. */
  readonly signal?: AbortSignal;
  /** Project costs instead of calling: LLM teachers answer with the rules teacher's text (`--dry-run`). */
  readonly dryRun?: boolean;
  /** Stop paying once this much is spent in the run (cache hits stay free). */
  readonly budget?: { readonly maxUSD: number };
}

/** YAML path of a teacher's config in a run config. */
const teacherPath = (name: string) => `teachers.teachers.${name}`;

/**
 * Builds one teacher per configured name (shared by the roles that use it) and one endpoint client
 * per distinct endpoint config (shared by the teachers on it, so they share its limits). Throws a
 * ConfigError naming the YAML path when the config or a prompt template is invalid, or a role
 * points at a teacher that is not defined. `usage()` reports requests, tokens and cost per role.
 */
export function createTeacherRegistry(config: TeachersConfigInput = {}, context: TeacherRegistryContext = {}): TeacherRegistry {
  const parsed = TeachersConfig.safeParse(config);
  if (!parsed.success) {
    throw new ConfigError(
      'teachers config',
      parsed.error.issues.map((issue) => `teachers.${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const roles = parsed.data.roles;
  const ledger = new TeacherUsageLedger();
  const clients = new Map<string, EndpointClient>();
  const log = context.log ?? pino({ level: 'silent' });
  const clientFor = (name: string, endpoint: EndpointConfig): EndpointClient => {
    const key = canonicalJson(endpoint);
    let client = clients.get(key);
    if (!client) {
      const label = `${teacherPath(name)}.endpoint`;
      client = context.store
        ? sharedEndpointClient(endpoint, { store: context.store, log, signal: context.signal ?? new AbortController().signal }, label)
        : new EndpointClient({ config: endpoint, log, signal: context.signal, label });
      clients.set(key, client);
    }
    return client;
  };
  const createTeacher = (name: string, teacherConfig: TeacherConfig): Teacher => {
    switch (teacherConfig.kind) {
      case 'rules':
        return new RulesTeacher({ name, model: teacherConfig.model });
      case 'openai': {
        let batch: BatchQueue | undefined;
        if (teacherConfig.batch && !context.dryRun) {
          if (!context.store)
            throw new ConfigError('teachers config', [
              `${teacherPath(name)}.batch: batch mode keeps batch ids and answers in the store; run it through emoforge run`,
            ]);
          batch = new BatchQueue(
            name,
            teacherConfig.batch,
            clientFor(name, teacherConfig.endpoint),
            context.store,
            log,
            // Answers settle after the teacher exists; its prices are the batch prices.
            ({ role, usage }) => ledger.add(role, name, { calls: 1, ...usage, usd: priceOf(usage, llm.prices) }),
            (role) => ledger.add(role, name, { retries: 1 }),
          );
          batchQueues.push(batch);
        }
        const llm: LlmTeacher = new LlmTeacher({
          name,
          client: clientFor(name, teacherConfig.endpoint),
          params: teacherConfig.params,
          prices: teacherConfig.prices,
          structuredOutput: teacherConfig.structuredOutput,
          maxInvalidRetries: teacherConfig.maxInvalidRetries,
          promptsDir: teacherConfig.promptsDir ?? BUNDLED_PROMPTS_DIR,
          roles: TEACHER_ROLES.filter((role) => roles[role] === name),
          ledger,
          budget: context.budget,
          label: teacherPath(name),
          store: context.store,
          batch,
          priceFactor: teacherConfig.batch?.priceFactor,
        });
        llmTeachers.push(llm);
        return context.dryRun ? new ProjectingTeacher(llm, new RulesTeacher({ name }), ledger, bases) : llm;
      }
    }
  };
  const teachers = new Map<string, Teacher>();
  const llmTeachers: LlmTeacher[] = [];
  const batchQueues: BatchQueue[] = [];
  const bases = new Map<string, ProjectionBasis>();
  for (const [name, teacherConfig] of Object.entries(parsed.data.teachers)) teachers.set(name, createTeacher(name, teacherConfig));
  return {
    usage: () => ledger.snapshot(),
    projectionBasis: () => Object.fromEntries([...bases].sort(([a], [b]) => (a < b ? -1 : 1))),
    batches: {
      async submit(signal: AbortSignal) {
        let submitted = 0;
        for (const queue of batchQueues) submitted += await queue.submit(signal);
        return submitted;
      },
      async poll(signal: AbortSignal) {
        let pending = 0;
        let openBatches = 0;
        for (const queue of batchQueues) {
          const progress = await queue.poll(signal);
          pending += progress.pending;
          openBatches += progress.openBatches;
        }
        return { pending, openBatches };
      },
      pollIntervalMs: () => Math.min(...batchQueues.map((q) => q.config.pollIntervalMs)),
      enabled: () => batchQueues.length > 0,
    },
    async persist() {
      if (context.dryRun) return;
      for (const llm of llmTeachers) await llm.calibration.persist();
    },
    forRole(role: string): Teacher {
      const teacher = TEACHER_ROLES.includes(role) ? teachers.get(roles[role]) : undefined;
      if (!teacher)
        throw new ConfigError('teachers config', [`roles.${role}: no teacher is configured for role '${role}' (roles: ${TEACHER_ROLES.join(', ')})`]);
      return teacher;
    },
  };
}
