// The stages between ingest and the sink, in plan order: partitions of records through per-record
// stages, and stages over the whole corpus between them. Between phases the corpus stays in the
// store, a partition at a time (pipelines/corpus.ts).
import type { Clip, Drop } from '../../schemas/records.ts';
import type { Plan } from '../config.ts';
import { StoredCorpus } from '../corpus.ts';
import { FatalError } from '../errors.ts';
import { publishesIn, type PartitionExecutor } from '../executors/partition-executor.ts';
import { mergeStats, type StatsTable } from '../stats.ts';
import { abortError, type RunScope } from './context.ts';
import { runGlobalStage } from './global-stage.ts';
import type { ProgressListener } from './options.ts';
import { clipInput, corpusInput, type PhaseInput } from './phase-input.ts';
import { teacherFingerprint } from './partition.ts';
import { runRecordPhase, type PartitionCounts } from './record-phase.ts';
import { trimMalloc } from '../malloc.ts';

interface PhasesRun {
  readonly scope: RunScope;
  readonly executor: PartitionExecutor;
  readonly progress?: ProgressListener;
  /** Every stage's counters; the phases add theirs. */
  readonly stats: StatsTable;
  /** Every record that left early; the phases add theirs. */
  readonly drops: Drop[];
}

/**
 * Runs the phases over ingest's clips; returns the corpus they leave (undefined with no clips) and
 * the partition counts of all record phases. The clips are taken out of `ingested` (nothing else
 * holds them), so they are let go once the first record phase is done with them.
 */
export async function runPhases(
  plan: Plan,
  ingested: { clips?: readonly Clip[] },
  run: PhasesRun,
): Promise<{ corpus: StoredCorpus | undefined; partitions: PartitionCounts }> {
  const { scope, executor, stats, drops } = run;
  const finished: StatsTable = {};
  const inFlight = new Set<StatsTable>();
  let merged = false;
  run.progress?.watch(() => {
    const view: StatsTable = {};
    mergeStats(view, stats);
    if (!merged) mergeStats(view, finished);
    for (const table of inFlight) mergeStats(view, table);
    return view;
  });
  const teachers = teacherFingerprint(scope.teachers);
  const partitions: PartitionCounts = { total: 0, cached: 0, remote: 0, skipped: 0 };
  const publishes = publishesIn(executor.mode);
  let input: PhaseInput = clipInput(ingested.clips ?? []);
  delete ingested.clips;
  let corpus: StoredCorpus | undefined;
  const lastRecordPhase = plan.phases.reduce((last, p, i) => (p.kind === 'global' ? last : i), -1);
  for (const [index, phase] of plan.phases.entries()) {
    // A static worker stops after its share of the last record phase: `finalize` does the rest.
    if (!publishes && index > lastRecordPhase) break;
    if (phase.kind === 'global') {
      mergeStats(stats, finished);
      for (const key of Object.keys(finished)) delete finished[key];
      if (!corpus) throw new FatalError(`global stage ${phase.stage.stage.name} has no record phase before it`);
      corpus = await runGlobalStage(phase.stage, corpus, drops, stats, scope);
      input = corpusInput(corpus);
      trimMalloc();
      continue;
    }
    const result = await runRecordPhase(phase.stages, input, {
      scope,
      progress: run.progress,
      executor,
      concurrency: plan.config.concurrency,
      teacherFingerprint: teachers,
      finished,
      inFlight,
      index,
      needed: publishes || index < lastRecordPhase,
    });
    if (scope.signal.aborted) throw abortError(scope.signal);
    partitions.total += result.partitions.total;
    partitions.cached += result.partitions.cached;
    partitions.remote += result.partitions.remote;
    partitions.skipped += result.partitions.skipped;
    drops.push(...result.drops);
    corpus = new StoredCorpus(scope.store, result.parts);
    input = corpusInput(corpus);
    trimMalloc();
  }
  mergeStats(stats, finished);
  merged = true;
  return { corpus, partitions };
}
