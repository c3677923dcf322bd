// Partition scheduling for one record phase. The executor decides where each partition is
// processed; work done in this process is limited to `concurrency` partitions at once, while
// waiting for other workers is not. A partition's inputs are read when its key is computed and
// again when it is processed here, never held while it waits; its result stays in the store and
// the phase returns only where each partition's result is.
import PQueue from 'p-queue';
import type { Drop } from '../../schemas/records.ts';
import { packDrop } from '../drops.ts';
import type { PlannedStage } from '../config.ts';
import type { CorpusPart } from '../corpus.ts';
import type { PartitionExecutor, PartitionWork } from '../executors/partition-executor.ts';
import type { RecordStage } from '../stage.ts';
import { mergeStats, type StatsTable } from '../stats.ts';
import type { RunScope } from './context.ts';
import type { ProgressListener } from './options.ts';
import { partitionKey, processAndStore, readPartition } from './partition.ts';
import type { PhaseInput } from './phase-input.ts';

interface RecordPhase {
  readonly scope: RunScope;
  readonly progress?: ProgressListener;
  readonly executor: PartitionExecutor;
  /** The config's `concurrency`, unless the executor sets its own. */
  readonly concurrency: number;
  readonly teacherFingerprint: string;
  /** Stats of finished partitions (those found in the store count as cache hits). */
  readonly finished: StatsTable;
  /** Stats of partitions being processed, for the live progress view. */
  readonly inFlight: Set<StatsTable>;
  /** Index of this phase in plan.phases. */
  readonly index: number;
  /** Whether every partition's result is needed here (see PartitionWork.needed). */
  readonly needed: boolean;
}

/** Partitions of one phase: `cached` found in the store, `remote` done by other workers, `skipped` left to them. */
export interface PartitionCounts {
  total: number;
  cached: number;
  remote: number;
  skipped: number;
}

export async function runRecordPhase(
  stages: readonly PlannedStage<RecordStage<any>>[],
  input: PhaseInput,
  phase: RecordPhase,
): Promise<{ parts: CorpusPart[]; drops: Drop[]; partitions: PartitionCounts }> {
  const { scope, finished, inFlight, executor } = phase;
  const { store, log, signal } = scope;
  const partitions = input.partitions;
  const phaseFingerprint = stages.at(-1)!.fingerprint;
  const parts: CorpusPart[] = [];
  const drops: Drop[] = [];
  const counts: PartitionCounts = { total: partitions.length, cached: 0, remote: 0, skipped: 0 };
  let done = 0;
  phase.progress?.phase('partitions', partitions.length);
  const concurrency = executor.concurrency ?? phase.concurrency;
  const queue = new PQueue({ concurrency });
  // Keys need every input record: read them a few partitions at a time.
  const reading = new PQueue({ concurrency: Number.isFinite(concurrency) ? Math.max(1, concurrency) : Math.max(2, phase.concurrency) });
  await Promise.all(
    partitions.map(async ({ partition, size }) => {
      if (signal.aborted) return;
      const key = await reading.add(async () => partitionKey(phaseFingerprint, phase.teacherFingerprint, await input.inIdOrder(partition)));
      if (key === undefined || signal.aborted) return;
      const work: PartitionWork = {
        partition,
        phase: phase.index,
        key,
        items: () => input.load(partition),
        size,
        root: scope.root,
        needed: phase.needed,
        stored: () => readPartition(store, key),
        here: () =>
          queue.add(async () => {
            const live: StatsTable = {};
            inFlight.add(live);
            try {
              return await processAndStore(stages, await input.inIdOrder(partition), key, live, { ...scope, log: log.child({ partition }) });
            } finally {
              inFlight.delete(live);
            }
          }),
      };
      const obtained = await executor.obtain(work, signal);
      if (signal.aborted) return;
      if (!obtained) {
        counts.skipped++;
        return;
      }
      const { result, origin } = obtained;
      if (origin === 'store') counts.cached++;
      if (origin === 'remote') counts.remote++;
      mergeStats(finished, result.stats, origin === 'store');
      // A result that could not be stored comes with its segments, held here; any other is in the store.
      parts.push({ partition, key, count: result.count, ...(result.segments ? { segments: result.segments } : {}) });
      for (const drop of result.drops) drops.push(packDrop(drop));
      done++;
      log.info({ partition, inputs: size, segments: result.count, drops: result.drops.length, cached: origin === 'store', origin }, 'partition done');
      phase.progress?.partitionDone(done, partitions.length, origin === 'store', finished);
    }),
  );
  parts.sort((a, b) => a.partition - b.partition);
  return { parts, drops, partitions: counts };
}
