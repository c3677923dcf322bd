// The teacher contract. Stages ask a teacher for a role (describe, labels, qa, rationale, ...) and
// get a value validated against the task's schema. The offline `rules` teacher writes text from the
// record's cues; LLM teachers (OpenAI-compatible endpoints) build messages from the same request.
import type { z } from 'zod';
import type { Segment } from '../../schemas/records.ts';
import type { TeacherUsageTable } from './usage.ts';

export type TeacherRole = 'vision' | 'audio' | 'describe' | 'labels' | 'qa' | 'rationale' | 'crosscheck' | 'judge' | 'translate' | 'eval-judge';

/** Media a request shows the model (vision: keyframes in temporal order; audio: the segment's WAV). */
export interface TeacherMedia {
  readonly images?: readonly { readonly jpeg: Uint8Array; readonly time: number }[];
  /** 'low' (85 tokens an image on OpenAI), 'high' or 'auto'. Default 'low'. */
  readonly imageDetail?: 'low' | 'high' | 'auto';
  readonly wav?: Uint8Array;
}

export interface TeacherRequest<T> {
  readonly role: TeacherRole;
  /** Template id@version that shapes the output. */
  readonly template: string;
  readonly segment: Segment;
  readonly schema: z.ZodType<T>;
  /** Role-specific options (for example the label set MCQ distractors come from). */
  readonly options?: Readonly<Record<string, unknown>>;
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
  generate<T>(request: TeacherRequest<T>, signal: AbortSignal): Promise<TeacherResponse<T>>;
}

export interface TeacherRegistry {
  forRole(role: TeacherRole): Teacher;
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
