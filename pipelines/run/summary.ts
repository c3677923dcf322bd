// What a run reports when it ends, published or not.
import type { RunMode } from '../executors/partition-executor.ts';
import type { TransientFailures } from '../publish/publish-guard.ts';
import type { SinkResult } from '../sink.ts';
import type { StatsTable } from '../stats.ts';
import type { TeacherUsageTable } from '../teachers/usage.ts';

export interface RunSummary {
  readonly stats: StatsTable;
  /** Teacher calls, cache hits, tokens and dollars per role and teacher, for this run. */
  readonly teacherUsage: TeacherUsageTable;
  /** Dry runs: per "role/teacher", whether the projection used observed answer lengths or stand-ins. */
  readonly projectionBasis?: Record<string, { readonly basis: 'observed' | 'stand-in'; readonly observedAnswers: number }>;
  /**
   * Partitions of all record phases: `cached` were found in the store, `remote` were processed by
   * other workers during this run, `skipped` belong to other static workers and were not needed here.
   */
  readonly partitions: { total: number; cached: number; remote?: number; skipped?: number };
  /** How this process took part: alone, as one static worker, or as a queue's coordinator. */
  readonly mode: RunMode;
  readonly clips: number;
  readonly segments: number;
  readonly drops: number;
  /** Undefined on a dry run, which publishes nothing. */
  readonly sink?: SinkResult;
  readonly dryRun: boolean;
  readonly wallMs: number;
  /** Records of this pass wait for batch answers (a static worker, which never publishes, says so here). */
  readonly batchPending?: boolean;
  /**
   * Records failed transiently and there was no published version to keep their rows from: nothing
   * was published (the CLI exits 3). Also set, beside `sink`, when a publish carried rows forward.
   */
  readonly incomplete?: TransientFailures;
  /** Batch mode: passes run, requests submitted in all, and whether batches are still running (nothing published). */
  readonly batches?: { readonly passes: number; readonly submitted: number; readonly waiting: boolean };
}
