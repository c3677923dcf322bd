// The sink contract: the global step that runs once over every partition's result (splits,
// samples, shards, rejects, stats, manifest).
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Drop, Segment } from '../schemas/records.ts';
import type { SortedIds } from './sorted-ids.ts';
import type { FieldPath } from './stage.ts';
import type { StatsTable } from './stats.ts';
import type { Store } from './store/store.ts';
import type { TeacherUsageTable } from './teachers/usage.ts';

/** Every segment that reached the sink, never held at once: the sink's view of each, and a stream of them. */
export interface SinkSegments<V = unknown> {
  readonly count: number;
  /**
   * The sink's `project` of every segment, sorted by segment id, and those ids in the same order
   * (packed, so a view need not hold its id); empty when it declares none. Handed over once: the
   * runner lets go of them, so the sink can once it has planned from them.
   */
  takeViews(): { readonly ids: SortedIds; readonly views: readonly V[] };
  /** The full segments, a partition at a time (partition order, not id order). */
  stream(): AsyncIterable<Segment>;
}

export interface SinkInput {
  readonly segments: SinkSegments;
  /** Every record that left early, from every stage. */
  readonly drops: readonly Drop[];
  /** Stats of every stage so far; the sink adds its own. */
  readonly stats: StatsTable;
  /** What the teachers were asked and what it cost, per role and teacher. */
  readonly teacherUsage: TeacherUsageTable;
  readonly run: {
    readonly name: string;
    readonly fingerprint: string;
    readonly stages: readonly { name: string; version: number; fingerprint: string }[];
    /** Sources listed by ingest (before rejections). */
    readonly sourcesSeen: number;
  };
  /**
   * Drops of records that failed transiently whose rows the published version keeps (the publish
   * guard, pipelines/publish/publish-guard.ts); empty when publish.allowPartial is set.
   */
  readonly carry?: readonly Drop[];
}

export interface SinkContext {
  readonly outDir: string;
  readonly store: Store;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface SinkStage<C = unknown> {
  readonly kind: 'sink';
  readonly name: string;
  readonly version: number;
  readonly configSchema: z.ZodType<C>;
  readonly reads: readonly FieldPath[];
  readonly adds: readonly FieldPath[];
  /**
   * The compact view of a segment the sink plans from (splits); handed over by `segments.takeViews()`
   * beside the segment ids. A million segments give a million views: share one object among
   * segments with the same view rather than make one each.
   */
  project?(segment: Segment, config: C): unknown;
  run(input: SinkInput, config: C, ctx: SinkContext): Promise<SinkResult>;
}

export interface SinkResult {
  /** Rows written per split. */
  readonly splits: Record<string, number>;
  readonly shards: readonly { file: string; rows: number; bytes: number; sha256: string }[];
  /** true when every shard already existed with the same bytes and nothing was rewritten. */
  readonly unchanged: boolean;
  /** The out folder's version after this publish (pipelines/publish/versions.ts); `line` is its one-line summary. */
  readonly version?: {
    readonly number: number;
    readonly unchanged: boolean;
    readonly line: string;
    readonly diff: import('../schemas/manifest.ts').VersionDiff | null;
  };
  /** The media files under OUT/media the rows name: how many, their bytes, and how this publish placed them. */
  readonly media?: {
    readonly files: number;
    readonly bytes: number;
    readonly linked: number;
    readonly copied: number;
    readonly kept: number;
    readonly pruned: number;
  };
  /** Rows kept from the published version for records that failed transiently, and how many records they are. */
  readonly carried?: { readonly rows: number; readonly records: number; readonly fromVersion: number | undefined };
}
