// `emoforge worker --redis URL`: takes partition jobs from the queue and processes each in a child
// process (BullMQ sandboxed processor), so CPU-heavy stages never block the lease renewal that
// tells the queue this worker is alive. Any number of workers on any number of machines may run;
// all they share is Redis and the store.
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { closeFleetRedis, FLEET_REDIS_ENV } from '../endpoints/fleet-rate-limit.ts';
import {
  DEFAULT_LEASE,
  PARTITION_QUEUE,
  WORKER_STORE_ENV,
  queueConnection,
  type LeaseSettings,
  type PartitionJobData,
  type PartitionJobReturn,
} from './queue-settings.ts';

export interface QueueWorkerOptions {
  /** redis://host:port */
  readonly redis: string;
  /** Partitions processed at once (one child process each). Default 2. */
  readonly concurrency?: number;
  readonly lease?: Partial<LeaseSettings>;
  /** Reach the store at this location instead of the one each job names. */
  readonly store?: string;
  /** Teacher limits shared through this Redis (default true). */
  readonly sharedLimits?: boolean;
  readonly log?: Logger;
  /** Hears about each finished job. */
  readonly onJob?: (event: {
    readonly id: string;
    readonly partition: number;
    readonly phase: number;
    readonly ok: boolean;
    readonly ms: number;
    readonly detail: string;
  }) => void;
}

export interface RunningWorker {
  /** Stops taking jobs and waits for the running ones (or not, with force). */
  close(force?: boolean): Promise<void>;
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<RunningWorker> {
  const lease = { ...DEFAULT_LEASE, ...options.lease };
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  if (!(lease.lockDurationMs >= 1000)) throw new RangeError(`lockDurationMs must be at least 1000, got ${lease.lockDurationMs}`);
  if (!(lease.stalledIntervalMs >= 1000)) throw new RangeError(`stalledIntervalMs must be at least 1000, got ${lease.stalledIntervalMs}`);
  // Children inherit the environment: the shared limits and a store override reach them this way.
  if (options.sharedLimits !== false) process.env[FLEET_REDIS_ENV] = options.redis;
  if (options.store) process.env[WORKER_STORE_ENV] = options.store;
  const processor = fileURLToPath(new URL('./partition-job.mjs', import.meta.url));
  const started = new Map<string, number>();
  const connection = queueConnection(options.redis);
  const worker = new Worker<PartitionJobData, PartitionJobReturn>(PARTITION_QUEUE, processor, {
    connection,
    concurrency,
    lockDuration: lease.lockDurationMs,
    stalledInterval: lease.stalledIntervalMs,
    maxStalledCount: lease.maxStalledCount,
    useWorkerThreads: false,
  });
  worker.on('active', (job) => started.set(job.id!, performance.now()));
  worker.on('completed', (job, value) => {
    const ms = performance.now() - (started.get(job.id!) ?? performance.now());
    started.delete(job.id!);
    options.onJob?.({
      id: job.id!,
      partition: job.data.partition,
      phase: job.data.phase,
      ok: true,
      ms,
      detail: `${value.segments} segments, ${value.drops} drops${value.stored ? '' : ' (not stored: records failed with errors)'}`,
    });
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    const ms = performance.now() - (started.get(job.id!) ?? performance.now());
    started.delete(job.id!);
    options.log?.error({ err: error, job: job.id }, 'partition job failed');
    options.onJob?.({ id: job.id!, partition: job.data.partition, phase: job.data.phase, ok: false, ms, detail: error.message });
  });
  worker.on('error', (error) => options.log?.error({ err: error }, 'worker error'));
  await worker.waitUntilReady();
  return {
    async close(force = false) {
      await worker.close(force);
      connection.disconnect();
      await closeFleetRedis();
    },
  };
}
