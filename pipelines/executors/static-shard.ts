// Static sharding for array jobs (Slurm arrays, Kubernetes indexed jobs, AWS Batch arrays): worker
// i of N processes the partitions p with p % N == i of every record phase and stores their results;
// `emoforge finalize` then runs the pipeline once more, finds every partition in the store and
// does the global steps and the sink.
//
// A record phase that follows a global stage (e.g. qa after cues.agreement) reads that stage's
// output, which needs every partition of the phase before it. Each worker then waits until the
// other workers' partitions of that phase are in the store, runs the (deterministic) global stage
// itself over the whole corpus, and goes on with its own partitions of the next phase. Workers
// never talk to each other: the shared store is the only rendezvous. A worker that waits longer
// than `takeoverAfterMs` for a partition processes it itself (results are content-keyed and
// idempotent, so a late owner writing the same key changes nothing); this also covers a partition
// whose owner keeps failing on a record with a transient error and so never stores it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Obtained, PartitionExecutor, PartitionWork, RunMode } from './partition-executor.ts';

export interface WorkerShard {
  /** 0-based index of this worker. */
  readonly index: number;
  /** Number of workers. */
  readonly count: number;
}

/** Parses "i/N" (0 ≤ i < N), as in `--worker 3/8` or `--worker $JOB_COMPLETION_INDEX/8`. */
export function parseWorkerShard(text: string): WorkerShard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new RangeError(`--worker takes INDEX/COUNT such as 0/4 (0-based index), got ${JSON.stringify(text)}`);
  const [index, count] = [Number(match[1]), Number(match[2])];
  if (count < 1 || index >= count)
    throw new RangeError(
      `--worker ${text}: the index must be at least 0 and below the count (0/${Math.max(1, count)} … ${Math.max(1, count) - 1}/${Math.max(1, count)})`,
    );
  return { index, count };
}

export interface StaticShardOptions {
  readonly log?: Logger;
  /** How often a waiting worker looks for the other workers' partitions. Default 2000 ms. */
  readonly pollMs?: number;
  /** How long a worker waits for a partition another worker owns before processing it itself. Default 30 min. */
  readonly takeoverAfterMs?: number;
}

export class StaticShardExecutor implements PartitionExecutor {
  readonly mode: RunMode;
  private readonly pollMs: number;
  private readonly takeoverAfterMs: number;

  constructor(
    readonly shard: WorkerShard,
    private readonly options: StaticShardOptions = {},
  ) {
    this.mode = { kind: 'static-worker', index: shard.index, count: shard.count };
    this.pollMs = options.pollMs ?? 2000;
    this.takeoverAfterMs = options.takeoverAfterMs ?? 30 * 60_000;
    if (!(this.pollMs > 0)) throw new RangeError(`pollMs must be > 0, got ${this.pollMs}`);
    if (!(this.takeoverAfterMs >= 0)) throw new RangeError(`takeoverAfterMs must be >= 0, got ${this.takeoverAfterMs}`);
  }

  owns(partition: number): boolean {
    return partition % this.shard.count === this.shard.index;
  }

  async obtain(work: PartitionWork, signal: AbortSignal): Promise<Obtained | undefined> {
    if (this.owns(work.partition)) {
      const stored = await work.stored();
      return stored ? { result: stored, origin: 'store' } : { result: await work.here(), origin: 'here' };
    }
    if (!work.needed) return undefined;
    const started = Date.now();
    let logged = false;
    for (;;) {
      const stored = await work.stored();
      if (stored) return { result: stored, origin: 'remote' };
      if (Date.now() - started >= this.takeoverAfterMs) {
        this.options.log?.warn(
          { partition: work.partition, phase: work.phase, owner: work.partition % this.shard.count, waitedMs: Date.now() - started },
          'owner has not stored this partition; processing it here',
        );
        return { result: await work.here(), origin: 'here' };
      }
      if (!logged) {
        this.options.log?.info(
          { partition: work.partition, phase: work.phase, owner: work.partition % this.shard.count },
          "waiting for another worker's partition (the next phase needs the whole corpus)",
        );
        logged = true;
      }
      await sleep(this.pollMs, undefined, { signal });
    }
  }
}
