// The teacher contract. Stages ask a teacher for a role (describe, labels, qa, rationale, ...) and
// get a value validated against the task's schema. The offline `rules` teacher writes text from the
// record's cues; LLM teachers (OpenAI-compatible endpoints) build messages from the same request.
import type { z } from 'zod';
import type { Segment } from '../../schemas/records.ts';
import type { TeacherUsageTable } from './usage.ts';

export type TeacherRole = 'describe' | 'labels' | 'qa' | 'rationale';

export interface TeacherRequest<T> {
  readonly role: TeacherRole;
  /** Template id@version that shapes the output. */
  readonly template: string;
  readonly segment: Segment;
  readonly schema: z.ZodType<T>;
  /** Role-specific options (for example the label set MCQ distractors come from). */
  readonly options?: Readonly<Record<string, unknown>>;
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
}

export interface Teacher {
  readonly name: string;
  readonly model: string;
  /** What identifies this teacher's outputs in cache keys (model, params; never concurrency). */
  readonly fingerprint: unknown;
  generate<T>(request: TeacherRequest<T>, signal: AbortSignal): Promise<TeacherResponse<T>>;
}

export interface TeacherRegistry {
  forRole(role: TeacherRole): Teacher;
  /** Requests, cache hits, retries, tokens and USD per role and teacher so far (for stats.json). */
  usage?(): TeacherUsageTable;
  /** On a dry run, per "role/teacher": whether output tokens came from observed answers or stand-ins. */
  projectionBasis?(): Record<string, { readonly basis: 'observed' | 'stand-in'; readonly observedAnswers: number }>;
  /** Keeps what this run observed of answer lengths (for later dry runs). Called once at the end of a run. */
  persist?(): Promise<void>;
}
