// Where the partitions of a record phase are processed. The runner owns ingest, global stages and
// the sink; an executor only decides, per partition, whether its result comes from this process,
// from the store, from another worker, or is not needed here at all. Every executor keeps the same
// contract for results: content-keyed (the key says what went in), written once, atomically, so a
// partition done twice (at-least-once delivery, a worker restarted) yields the same bytes.
import type { Clip, Drop, Segment } from '../../schemas/records.ts';
import type { StatsTable } from '../stats.ts';

/** What one partition produced. The stored form leaves out `transientDrops`. */
export interface PartitionResult {
  /** Segments the partition kept. */
  readonly count: number;
  /**
   * The kept segments themselves, only when the result is not in the store (records failed with
   * errors, or a dry run's stand-in text flowed through); a stored result's segments are read from
   * the store when a later step needs them.
   */
  readonly segments?: Segment[];
  readonly drops: Drop[];
  readonly stats: StatsTable;
  /** Drops caused by thrown errors: such a partition is not stored as done, so a re-run retries them. */
  readonly transientDrops?: number;
}

/** One partition of one record phase, as the runner hands it to an executor. */
export interface PartitionWork {
  /** The partition number (clip id hash modulo `partitions`). */
  readonly partition: number;
  /** Index of the record phase in `plan.phases`. */
  readonly phase: number;
  /** Store key of the result: `partitions/ab/<hash>.ndjson` (pipelines/run/stored-partition.ts). */
  readonly key: string;
  /**
   * Reads the partition's input records (clips, or the segments of the phase before with the global
   * stages' decisions applied). Read on demand, so that a partition waiting for a slot or for another
   * worker holds none of them.
   */
  items(): Promise<readonly (Clip | Segment)[]>;
  /** How many input records the partition has. */
  readonly size: number;
  /** The source root record stages read clips from. */
  readonly root: string;
  /**
   * Whether this process needs the partition's result: false only for a static worker's foreign
   * partitions in the last record phase (nothing after it runs on a worker).
   */
  readonly needed: boolean;
  /** The stored result, or null. */
  stored(): Promise<PartitionResult | null>;
  /** Processes the partition in this process and stores the result (unless it had transient drops). */
  here(): Promise<PartitionResult>;
}

/** Where a result came from: this process, the store (done earlier), or another worker during this run. */
export type PartitionOrigin = 'here' | 'store' | 'remote';

export interface Obtained {
  readonly result: PartitionResult;
  readonly origin: PartitionOrigin;
}

/**
 * How this process takes part in a run: every partition here, worker `index` of `count` of a static
 * split (`--worker i/N`), or the coordinator of a queue that `emoforge worker` processes.
 */
export type RunMode =
  | { readonly kind: 'local' }
  | { readonly kind: 'static-worker'; readonly index: number; readonly count: number }
  | { readonly kind: 'queue' };

/**
 * Whether a run in this mode goes on after the last record phase to the global stages and the sink.
 * A static worker does not: `emoforge finalize` does that once every worker is done.
 */
export function publishesIn(mode: RunMode): boolean {
  return mode.kind !== 'static-worker';
}

export interface PartitionExecutor {
  /** How this process takes part in the run; the run summary reports it. */
  readonly mode: RunMode;
  /** Partitions handled at once by this process; default the config's `concurrency`. */
  readonly concurrency?: number;
  /** The partition's result, or undefined when it belongs to another worker and is not needed here. */
  obtain(work: PartitionWork, signal: AbortSignal): Promise<Obtained | undefined>;
  /** Releases connections; called once when the run ends. */
  close?(): Promise<void>;
}

/** Every partition in this process, reusing stored results: the single-machine executor. */
export const localExecutor: PartitionExecutor = {
  mode: { kind: 'local' },
  async obtain(work) {
    const stored = await work.stored();
    return stored ? { result: stored, origin: 'store' } : { result: await work.here(), origin: 'here' };
  },
};
