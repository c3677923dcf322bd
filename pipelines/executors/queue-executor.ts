// The coordinator side of the BullMQ executor (`emoforge run CONFIG --executor bullmq --redis URL`):
// a partition not yet in the store is queued (its input records in the store, the job id its
// content key, so queueing it again while it waits or runs is a no-op) and awaited; `emoforge
// worker` processes on any number of machines. Delivery is at-least-once: a worker that dies
// mid-job has its lease expire and the job runs again elsewhere. That is safe because results are
// content-keyed and written once, atomically: two deliveries store the same bytes under one key.
// Global stages and the sink run here once every partition of the phase they follow is done.
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FatalError } from '../errors.ts';
import { encodePartitionInputs } from '../run/stored-partition.ts';
import type { Store } from '../store/store.ts';
import type { Obtained, PartitionExecutor, PartitionResult, PartitionWork, RunMode } from './partition-executor.ts';
import { jobIdFor, PARTITION_QUEUE, queueConnection, type PartitionJobData, type PartitionJobReturn } from './queue-settings.ts';

export interface QueueExecutorOptions {
  /** redis://host:port */
  readonly redis: string;
  readonly store: Store;
  /** The config as loaded and its file, sent with every job. */
  readonly config: unknown;
  readonly configFile: string;
  /** The input as given when it is s3:// (workers pull their partitions' clips from it). */
  readonly inputLocation?: string;
  readonly log?: Logger;
  /** Attempts per job when a worker reports a failure (a crash counts as a stall, not an attempt). Default 3. */
  readonly attempts?: number;
  /** How often to look at the store and the job in case a completion event was missed. Default 5000 ms. */
  readonly checkEveryMs?: number;
}

/** BullMQ's lowest priority. */
const MAX_PRIORITY = 2_097_152;

interface Waiter {
  resolve(value: PartitionJobReturn | undefined): void;
  reject(error: Error): void;
}

export class QueueExecutor implements PartitionExecutor {
  readonly mode: RunMode = { kind: 'queue' };
  /** Waiting on remote workers costs nothing here. */
  readonly concurrency = Number.POSITIVE_INFINITY;
  private readonly connection: Redis;
  private readonly eventsConnection: Redis;
  private readonly queue: Queue<PartitionJobData, PartitionJobReturn>;
  private readonly events: QueueEvents;
  private readonly waiters = new Map<string, Waiter>();
  private readonly ready: Promise<void>;
  /** Rejects when the run's signal aborts; one listener for every waiting partition. */
  private aborted: Promise<never> | undefined;

  constructor(private readonly options: QueueExecutorOptions) {
    this.connection = queueConnection(options.redis);
    this.eventsConnection = queueConnection(options.redis);
    this.queue = new Queue(PARTITION_QUEUE, { connection: this.connection });
    this.events = new QueueEvents(PARTITION_QUEUE, { connection: this.eventsConnection });
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const value = typeof returnvalue === 'string' ? (JSON.parse(returnvalue) as PartitionJobReturn) : (returnvalue as unknown as PartitionJobReturn);
      this.settle(jobId, value);
    });
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]).then(() => undefined);
  }

  async obtain(work: PartitionWork, signal: AbortSignal): Promise<Obtained> {
    const stored = await work.stored();
    if (stored) return { result: stored, origin: 'store' };
    await this.ready;
    const id = jobIdFor(work.key);
    const inputs = `queue/inputs/${id.slice(0, 2)}/${id}.ndjson`;
    if (!(await this.options.store.exists(inputs))) await this.options.store.put(inputs, encodePartitionInputs(await work.items()));
    const data: PartitionJobData = {
      config: this.options.config,
      configFile: this.options.configFile,
      store: this.options.store.location,
      phase: work.phase,
      partition: work.partition,
      key: work.key,
      inputs,
      root: work.root,
      ...(this.options.inputLocation ? { inputLocation: this.options.inputLocation } : {}),
    };
    const finished = new Promise<PartitionJobReturn | undefined>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    await this.enqueue(id, data, work.size);
    const check = this.checkLoop(id, data, work, signal);
    let reply: PartitionJobReturn | undefined;
    try {
      if (!this.aborted) {
        this.aborted = abortOf(signal);
        this.aborted.catch(() => undefined);
      }
      reply = await Promise.race([finished, this.aborted]);
    } finally {
      this.waiters.delete(id);
      check.stop();
    }
    const result: PartitionResult | null = reply?.result ?? (await work.stored());
    if (!result)
      throw new FatalError(
        `partition ${work.partition} was reported done but its result ${work.key} is not in the store ${this.options.store.location}: do the workers use the same store (--store)?`,
      );
    return { result, origin: 'remote' };
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters.values()) waiter.reject(new FatalError('the run ended'));
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    // Connections handed to BullMQ stay open after close(): ours to end.
    this.connection.disconnect();
    this.eventsConnection.disconnect();
  }

  /** Queues the job unless it is already waiting or running; a failed leftover of an earlier run is removed first. */
  private async enqueue(id: string, data: PartitionJobData, size: number): Promise<void> {
    const state = await this.queue.getJobState(id);
    if (state === 'failed' || state === 'completed') await (await Job.fromId(this.queue, id))?.remove();
    await this.queue.add('partition', data, {
      jobId: id,
      attempts: this.options.attempts ?? 3,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
      // Largest partitions first (BullMQ: lower is sooner), so the run does not end waiting on a
      // big one that started last.
      priority: Math.max(1, MAX_PRIORITY - size),
    });
    this.options.log?.debug({ partition: data.partition, phase: data.phase, job: id }, 'partition queued');
  }

  private settle(id: string, value: PartitionJobReturn | undefined): void {
    this.waiters.get(id)?.resolve(value);
  }

  private async onFailed(id: string, reason: string): Promise<void> {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    // 'failed' is also emitted for an attempt that will be retried: only the final one ends the run.
    const state = await this.queue.getJobState(id).catch(() => 'unknown');
    if (state === 'failed') waiter.reject(new FatalError(`a worker failed partition job ${id} for good: ${reason}`));
  }

  /**
   * A safety net for missed events (the coordinator reconnected, or the job ended before this
   * process subscribed): the result appearing in the store ends the wait; a job that is gone
   * without a stored result (its result could not be stored) is queued again.
   */
  private checkLoop(id: string, data: PartitionJobData, work: PartitionWork, signal: AbortSignal): { stop(): void } {
    let stopped = false;
    const every = this.options.checkEveryMs ?? 5000;
    void (async () => {
      while (!stopped && !signal.aborted) {
        // Unref'd: a finished run exits without waiting for the next look.
        await sleep(every, undefined, { ref: false }).catch(() => undefined);
        if (stopped || signal.aborted) return;
        try {
          if (await this.options.store.exists(work.key)) return this.settle(id, undefined);
          const state = await this.queue.getJobState(id);
          if (state === 'unknown') await this.enqueue(id, data, work.size);
          else if (state === 'failed') await this.onFailed(id, (await Job.fromId(this.queue, id))?.failedReason ?? 'failed');
        } catch (error) {
          this.options.log?.warn({ err: error, job: id }, 'could not check a queued partition');
        }
      }
    })();
    return { stop: () => void (stopped = true) };
  }
}

function abortOf(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new FatalError('run aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
