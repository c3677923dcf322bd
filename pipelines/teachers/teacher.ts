// The teacher contract. Stages ask a teacher for a role (describe, labels, qa, rationale, ...) and
// get a value validated against the role's output schema. The offline `rules` teacher runs the
// role's writer over the record's cues; LLM teachers (OpenAI-compatible endpoints) build messages
// from the same request.
import type { z } from 'zod';
import type { Segment } from '../../schemas/records.ts';
import type { Placeholder } from './prompts.ts';
import type { TeacherUsageTable } from './usage.ts';

/**
 * A teacher role as one object: what it answers, what a stage may tell it, what an answer must
 * also satisfy, which prompt placeholders its options fill, and how the offline rules teacher
 * writes it. Each lives with the stage that asks for it (built with teacherTask, task.ts); the
 * registry lists them, and teachers read the role from the request.
 */
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

/** Media a request shows the model (vision: keyframes in temporal order; audio: the segment's WAV). */
export interface TeacherMedia {
  readonly images?: readonly { readonly jpeg: Uint8Array; readonly time: number }[];
  /** 'low' (85 tokens an image on OpenAI), 'high' or 'auto'. Default 'low'. */
  readonly imageDetail?: 'low' | 'high' | 'auto';
  readonly wav?: Uint8Array;
}

/** Built by teacherRequest (task.ts), which parses the options. */
export interface TeacherRequest<T, O = unknown> {
  /** The role asked: its output schema, checks, prompt placeholders and rules writer. */
  readonly task: TeacherTask<T, O>;
  /** Template id@version that shapes the output. */
  readonly template: string;
  readonly segment: Segment;
  /** The role's options (for example the label set MCQ distractors come from), parsed by `task.options`. */
  readonly options: O;
  /** Images and audio sent with the prompt (the vision and audio roles). */
  readonly media?: TeacherMedia;
}

export interface TeacherUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface TeacherResponse<T> {
  readonly value: T;
  readonly usage: TeacherUsage;
  readonly cached: boolean;
  /** Teacher name (e.g. "rules") and model it ran. */
  readonly teacher: string;
  readonly model: string;
  /** The prompt template that really ran (id@version), when it differs from the one requested (an LLM prompt for a rules template). */
  readonly template?: string;
}

export interface Teacher {
  readonly name: string;
  readonly model: string;
  /** What identifies this teacher's outputs in cache keys (model, params; never concurrency). */
  readonly fingerprint: unknown;
  generate<T, O>(request: TeacherRequest<T, O>, signal: AbortSignal): Promise<TeacherResponse<T>>;
}

export interface TeacherRegistry {
  /** The teacher answering the named role; a ConfigError for a name no role has. */
  forRole(role: string): Teacher;
  /** Requests, cache hits, retries, tokens and USD per role and teacher so far (for stats.json). */
  usage?(): TeacherUsageTable;
  /** On a dry run, per "role/teacher": whether output tokens came from observed answers or stand-ins. */
  projectionBasis?(): Record<string, { readonly basis: 'observed' | 'stand-in'; readonly observedAnswers: number }>;
  /** Batch mode (OpenAI Batch API): submit deferred requests, poll open batches (see batch.ts). */
  readonly batches?: {
    submit(signal: AbortSignal): Promise<number>;
    poll(signal: AbortSignal): Promise<{ readonly pending: number; readonly openBatches: number }>;
    pollIntervalMs(): number;
    enabled(): boolean;
  };
  /** Keeps what this run observed of answer lengths (for later dry runs). Called once at the end of a run. */
  persist?(): Promise<void>;
}
