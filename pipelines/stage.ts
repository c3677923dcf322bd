// The stage contract. A stage is one file exporting one Stage object; it transforms records and
// never knows where it runs. The runner owns caching, counters, timing, drops and concurrency.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clip, Drop, Segment } from '../schemas/records.ts';
import type { Store } from './store/store.ts';
import type { TeacherRegistry } from './teachers/teacher.ts';

/** A record leaving the pipeline early. `reason` is a short kebab-case counter name. */
export interface DropResult {
  readonly drop: true;
  readonly reason: string;
  readonly detail: string;
  /** A global stage's drop may say what the segment had become, for its rejects snapshot (default: the stage's input). */
  readonly segment?: Segment;
}

export function drop(reason: string, detail: string): DropResult {
  return { drop: true, reason, detail };
}

export function isDrop(value: unknown): value is DropResult {
  return typeof value === 'object' && value !== null && (value as DropResult).drop === true;
}

/** Counts of expensive work done (ffmpeg runs, ASR runs, teacher calls); a re-run should add none. */
export interface WorkCounter {
  add(kind: WorkKind, amount?: number): void;
}
/** Work that cost something: `hash` counts input files read to hash (not recognised unchanged). */
export type WorkKind = 'ffmpeg' | 'ffprobe' | 'probe' | 'asr' | 'teacher' | 'dsp' | 'hash';

export interface StageContext {
  readonly store: Store;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly work: WorkCounter;
  readonly teachers: TeacherRegistry;
  /**
   * Marks a record the stage keeps but an audit should see (a kebab-case reason, counted under
   * `flagged` in stats.json; the detail goes to the run log).
   */
  readonly flag: (reason: string, detail: string) => void;
  /** True on a dry run when the stage sees stand-in teacher text: it must leave nothing in the store that outlives the run. */
  readonly standIn?: boolean;
  /** A scratch folder for this stage call, removed afterwards. */
  scratch(): Promise<string>;
  /** A local path holding the clip's source bytes (the runner knows where the input lives). */
  sourcePath(clip: Clip): Promise<string>;
}

/** Dotted field paths of Segment a stage reads or adds, e.g. "transcript", "cues.acoustic". */
export type FieldPath = string;

interface StageBase<C> {
  readonly name: string;
  /** Bump when the stage's output for the same input and config changes. */
  readonly version: number;
  readonly configSchema: z.ZodType<C>;
  readonly reads: readonly FieldPath[];
  /** The fields read under a given config, when that depends on the config (default: `reads`). */
  readonly readsFor?: (config: C) => readonly FieldPath[];
  readonly adds: readonly FieldPath[];
  /** Does the stage do expensive work worth caching per record? (cheap filters say false) */
  readonly cache: boolean;
  /**
   * The part of the config that shapes the output, for fingerprints and cache keys (default: all
   * of it). Throughput settings (limits, timeouts, concurrency) belong out of it.
   */
  readonly cacheConfig?: (config: C) => unknown;
  /** Teacher roles the stage calls (their tasks' `role`); their teachers' fingerprints join the stage's cache keys. */
  readonly teacherRoles?: readonly string[];
}

/** Turns a clip into segments (fan-out), or drops it. */
export interface ClipStage<C = unknown> extends StageBase<C> {
  readonly kind: 'clip';
  run(clip: Clip, config: C, ctx: StageContext): Promise<Segment[] | DropResult>;
}

/** Enriches a segment, or drops it. */
export interface SegmentStage<C = unknown> extends StageBase<C> {
  readonly kind: 'segment';
  run(segment: Segment, config: C, ctx: StageContext): Promise<Segment | DropResult>;
}

export type RecordStage<C = unknown> = ClipStage<C> | SegmentStage<C>;

/**
 * Runs once over every segment that survived the record stages, for work that needs the whole
 * corpus (a speaker's own baseline, near-duplicates). It never holds the corpus: `project` turns
 * each segment into the compact view the stage decides from (speaker, label, fingerprint, text
 * lengths, …), `decide` looks at every view at once, and the decision it returns is applied to each
 * full segment as the runner streams it from the store. Global stages are deterministic and cheap;
 * they are not cached per record.
 */
export interface GlobalStage<C = unknown, V = unknown> extends StageBase<C> {
  readonly kind: 'global';
  /** The compact view of one segment. Called once per segment per run, in one pass. */
  project(segment: Segment, config: C, ctx: StageContext): V | Promise<V>;
  /**
   * Decides over the views of every segment (sorted by segment id in a run); `ids.idAt(i)` is the id
   * of view i's segment, so a view need not hold it (a million id strings are ~80 MB).
   */
  decide(views: readonly V[], config: C, ctx: StageContext, ids: ViewIds): Promise<GlobalDecision>;
  /** The whole corpus in memory at once (tests, small corpora): project, decide, apply. One result per input, in order. */
  run(segments: readonly Segment[], config: C, ctx: StageContext): Promise<(Segment | DropResult)[]>;
}

/** The segment ids beside a global stage's views (SortedIds in a run). */
export interface ViewIds {
  readonly length: number;
  /** The id of view `index`'s segment (a new string each call in a run: hold it no longer than needed). */
  idAt(index: number): string;
}

/**
 * What a global stage decided, applied to one full segment at a time: the segment with the fields
 * the stage sets, or a drop. Pure: the runner applies it again whenever it streams the corpus
 * (`flag` is heard only the first time), so it must give the same answer for the same segment.
 */
export interface GlobalDecision {
  apply(segment: Segment, flag: (reason: string, detail: string) => void): Segment | DropResult;
}

/**
 * The decision that drops the segments `dropped` names (by id) and passes every other one on
 * unchanged. Made here rather than in `decide`: a closure made there shares decide's scope, and so
 * keeps alive whatever decide's other closures use (the views, the packed ids: 32 MB at a million
 * segments) for as long as the decision lives, which is the rest of the run.
 */
export function dropsById(dropped: ReadonlyMap<string, DropResult>): GlobalDecision {
  return { apply: (segment) => dropped.get(segment.id) ?? segment };
}

/** A global stage over segments held in memory: every view, one decision, applied in order. */
export async function runGlobalInMemory<C, V>(
  stage: Pick<GlobalStage<C, V>, 'project' | 'decide'>,
  segments: readonly Segment[],
  config: C,
  ctx: StageContext,
): Promise<(Segment | DropResult)[]> {
  const views: V[] = [];
  for (const segment of segments) views.push(await stage.project(segment, config, ctx));
  const decision = await stage.decide(views, config, ctx, { length: segments.length, idAt: (i) => segments[i].id });
  const flag = ctx.flag ?? (() => undefined);
  return segments.map((segment) => decision.apply(segment, flag));
}

/** Fields a clip stage's segments always carry. */
export const SEGMENT_BASE_FIELDS: readonly FieldPath[] = ['id', 'clipId', 'clip', 'index', 'start', 'end'];

/** What a source stage hands the runner: the clips to process and the sources it turned away. */
export interface SourceResult {
  readonly clips: Clip[];
  readonly drops: Drop[];
  /** Sources seen before any rejection (files listed, manifest rows). */
  readonly seen: number;
  /** Absolute folder that clip uris are relative to. */
  readonly root: string;
}

export interface SourceOptions {
  /** Overrides the config's input (CLI --input). */
  readonly input?: string;
  /** Process at most this many sources (CLI --limit), taken in sorted order. */
  readonly limit?: number;
  readonly partitions: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Hash every file again instead of recognising unchanged ones by size, times, inode and device (CLI --rehash). */
  readonly rehash?: boolean;
  /** Sources refused before listing (keys of an s3:// input that would land outside its mirror): rejected `path-escape`. */
  readonly refused?: readonly { readonly uri: string; readonly detail: string }[];
}

/** Lists the sources and turns them into clips (the first stage of every pipeline). */
export interface SourceStage<C = unknown> extends Omit<StageBase<C>, 'reads' | 'adds' | 'cache'> {
  readonly kind: 'source';
  run(config: C, options: SourceOptions, ctx: StageContext): Promise<SourceResult>;
}
