// The queue worker's entry into the runner: one partition of a run this process did not plan.
import type { Logger } from 'pino';
import type { Clip, Segment } from '../../schemas/records.ts';
import type { Plan } from '../config.ts';
import { FatalError } from '../errors.ts';
import type { PartitionResult } from '../executors/partition-executor.ts';
import type { Store } from '../store/store.ts';
import { createTeacherRegistry } from '../teachers/registry.ts';
import { inIdOrder, partitionKey, processAndStore, teacherFingerprint } from './partition.ts';

/** What a queue worker needs to process one partition of a run it did not plan. */
interface PartitionJob {
  /** Index of the record phase in plan.phases. */
  readonly phase: number;
  /** The key the coordinator expects the result under; checked against the key computed here. */
  readonly key: string;
  readonly items: readonly (Clip | Segment)[];
  readonly root: string;
}

/**
 * Processes one partition of a run for a queue worker, with this process's own teachers (same
 * response cache and limits as every other worker), and stores the result. Refuses a job whose key
 * this code would not produce (a worker running another emoforge version or config): its result
 * would be stored where the coordinator never looks.
 */
export async function runPartitionJob(
  plan: Plan,
  job: PartitionJob,
  context: { readonly store: Store; readonly log: Logger; readonly signal: AbortSignal },
): Promise<PartitionResult> {
  const phase = plan.phases[job.phase];
  if (!phase || phase.kind === 'global') throw new FatalError(`job names phase ${job.phase}, which is not a record phase of this config`);
  const teachers = createTeacherRegistry(plan.teachers, { store: context.store, log: context.log, signal: context.signal, budget: plan.config.budget });
  const inputs = inIdOrder(job.items);
  const key = partitionKey(phase.stages.at(-1)!.fingerprint, teacherFingerprint(teachers), inputs);
  if (key !== job.key)
    throw new FatalError(
      `partition key mismatch (coordinator ${job.key}, worker ${key}): this worker runs a different emoforge version, config or teacher setup than the run that queued the job`,
    );
  const result = await processAndStore(
    phase.stages,
    inputs,
    key,
    {},
    { store: context.store, log: context.log, signal: context.signal, teachers, root: job.root },
  );
  await teachers.persist?.();
  return result;
}
