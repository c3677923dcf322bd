// What a caller of runPipeline gives it, and what it tells the caller while it runs.
import type { Logger } from 'pino';
import type { PartitionExecutor } from '../executors/partition-executor.ts';
import type { StatsTable } from '../stats.ts';
import type { Store } from '../store/store.ts';

export interface RunOptions {
  readonly store: Store;
  readonly outDir: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly input?: string;
  /** Input sources refused before the run (see SourceOptions.refused). */
  readonly refusedInputs?: readonly { readonly uri: string; readonly detail: string }[];
  readonly limit?: number;
  /** Hash every input file again (SourceOptions.rehash). */
  readonly rehash?: boolean;
  readonly progress?: ProgressListener;
  /**
   * Project teacher costs without calling any teacher endpoint and publish nothing. Media, ASR and
   * cue results are real and cached; nothing computed from stand-in teacher text is.
   */
  readonly dryRun?: boolean;
  /**
   * Batch-mode teachers: after a pass that deferred requests, wait for the batches and run again
   * until everything is answered (default true). False: submit and return; a later run collects.
   */
  readonly waitForBatches?: boolean;
  /** Hears about batch passes: submissions and each poll. */
  readonly onBatches?: (event: BatchEvent) => void;
  /**
   * Where partitions are processed: here (default), this worker's share of a static split
   * (`--worker i/N`, which stops before the last global stages and the sink), or a queue.
   */
  readonly executor?: PartitionExecutor;
}

export interface BatchEvent {
  readonly pass: number;
  /** Requests submitted after this pass. */
  readonly submitted: number;
  /** Requests in batches that have not ended, and those batches. */
  readonly pending: number;
  readonly openBatches: number;
}

/** What the progress display hears about. Stats are live objects; read, never mutate. */
export interface ProgressListener {
  /** A live view of every stage's counters, finished and in-flight partitions together. */
  watch(snapshot: () => StatsTable): void;
  phase(name: 'ingest' | 'partitions' | 'write', total?: number): void;
  ingestProgress(done: number, total: number): void;
  partitionDone(done: number, total: number, cached: boolean, stats: StatsTable): void;
}
