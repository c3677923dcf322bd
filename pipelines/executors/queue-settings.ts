// What the queue coordinator and the queue workers agree on: the queue, the job's data, the lease.
import { Redis } from 'ioredis';
import type { PartitionResult } from './partition-executor.ts';

/** Overrides the store location jobs carry, for a worker that reaches the same store by another path. */
export const WORKER_STORE_ENV = 'EMOFORGE_WORKER_STORE';

/** One queue for every run: job ids are partition content keys, so runs never collide. */
export const PARTITION_QUEUE = 'emoforge-partitions';

/** A queued partition: everything a worker that never saw the run needs to process it. */
export interface PartitionJobData {
  /** The run's config as loaded (YAML → object) and the file it came from (for messages and relative paths). */
  readonly config: unknown;
  readonly configFile: string;
  /** The shared store's location (a folder every worker reaches, or s3://bucket/prefix). */
  readonly store: string;
  /** Index of the record phase in plan.phases. */
  readonly phase: number;
  readonly partition: number;
  /** Store key of the result. */
  readonly key: string;
  /** Store key of the partition's input records (clips or segments). */
  readonly inputs: string;
  /** Source root record stages read clips from. */
  readonly root: string;
  /**
   * The run's input when it is s3://bucket/prefix: the coordinator's `root` is its own local mirror,
   * which other machines do not have, so a worker pulls the clips of its partition from here into a
   * mirror of its own.
   */
  readonly inputLocation?: string;
}

/** What a job returns: the result itself only when it could not be stored (records failed with errors). */
export interface PartitionJobReturn {
  readonly stored: boolean;
  readonly segments: number;
  readonly drops: number;
  readonly result?: PartitionResult;
}

/** The BullMQ job id for a result key ("partitions/ab/<hash>.ndjson" → "<hash>"). */
export function jobIdFor(key: string): string {
  const match = /([0-9a-f]{16,})\.ndjson$/.exec(key);
  if (!match) throw new Error(`not a partition key: ${key}`);
  return match[1];
}

/** A Redis connection as BullMQ wants it (blocking commands never time out). */
export function queueConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

export interface LeaseSettings {
  /** How long a worker's lock on a job lasts without renewal; renewed every half. Default 60000 ms. */
  readonly lockDurationMs: number;
  /** How often workers look for jobs whose lock expired (a dead worker's) and requeue them. Default 30000 ms. */
  readonly stalledIntervalMs: number;
  /** Times a job may stall (its worker died) before it fails for good. Default 3. */
  readonly maxStalledCount: number;
}

export const DEFAULT_LEASE: LeaseSettings = { lockDurationMs: 60_000, stalledIntervalMs: 30_000, maxStalledCount: 3 };
