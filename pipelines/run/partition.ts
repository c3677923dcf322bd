// One partition of a record phase: its content key, its stored result, and processing it (every
// input through the phase's stages, in id order) with the result stored once, atomically, so
// done = the object exists.
import type { Clip, Drop, Segment } from '../../schemas/records.ts';
import type { PlannedStage } from '../config.ts';
import { segmentDrop } from '../drops.ts';
import type { PartitionResult } from '../executors/partition-executor.ts';
import { fingerprint, fingerprintWithList } from '../fingerprint.ts';
import { isDrop, type RecordStage } from '../stage.ts';
import type { StatsTable } from '../stats.ts';
import type { Store } from '../store/store.ts';
import { PIPELINE_ROLES } from '../teachers/registry.ts';
import type { TeacherRegistry } from '../teachers/teacher.ts';
import { abortError, type RunScope } from './context.ts';
import { runRecordStage } from './record-cache.ts';
import { decodePartitionResult, PARTITION_FORMAT, PartitionWriter } from './stored-partition.ts';

/** What the teachers are (model, params, prompts), not how fast they are reached: part of every partition key. */
export function teacherFingerprint(teachers: TeacherRegistry): string {
  return fingerprint(PIPELINE_ROLES.map((role) => teachers.forRole(role).fingerprint));
}

/** A partition's input records in id order, the order its key hashes them and its stages see them. */
export function inIdOrder<R extends Clip | Segment>(items: readonly R[]): R[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * Store key of a partition's result: the stored format, the phase's last stage fingerprint, the
 * teachers and the input records (given in id order, and read once). The format is in the key so
 * that an emoforge that writes another format never finds (or misreads) this one's results, and a
 * queue worker of another version is refused by the key check.
 */
export function partitionKey(phaseFingerprint: string, teachers: string, inputsInIdOrder: Iterable<Clip | Segment>): string {
  const key = fingerprintWithList(['partition', PARTITION_FORMAT, phaseFingerprint, teachers], inputsInIdOrder);
  return `partitions/${key.slice(0, 2)}/${key}.ndjson`;
}

export async function readPartition(store: Store, key: string): Promise<PartitionResult | null> {
  const existing = await store.get(key);
  // The segments stay in the store: the phase needs the count, the drops and the stats.
  return existing ? decodePartitionResult(existing, `${key} in ${store.location}`, { segments: false }) : null;
}

/**
 * Processes one partition and stores its result under `key`. Not stored when records failed
 * transiently (a re-run retries them) or when stand-in teacher text (a dry run) flowed through;
 * only then does the returned result hold the segments.
 */
export async function processAndStore(
  stages: readonly PlannedStage<RecordStage<any>>[],
  inputsInIdOrder: Iterable<Clip | Segment>,
  key: string,
  stats: StatsTable,
  scope: RunScope,
): Promise<PartitionResult> {
  const { writer, drops, transientDrops } = await processPartition(stages, inputsInIdOrder, stats, scope);
  if (scope.signal.aborted) throw abortError(scope.signal);
  const bytes = writer.finish(drops, stats);
  const standIn = stages.some((p) => scope.uncached?.has(p.stage.name));
  if (!transientDrops && !standIn) {
    await scope.store.put(key, bytes);
    return { count: writer.count, drops, stats };
  }
  if (transientDrops) scope.log.warn({ transientDrops }, 'partition had records fail with errors; it will be retried on the next run');
  return { ...decodePartitionResult(bytes, key), transientDrops };
}

/**
 * Runs every input of a partition (a clip, or a segment of a later phase) through the stages, in id
 * order; each input is taken when its turn comes and each kept segment encoded as it is done.
 */
async function processPartition(
  stages: readonly PlannedStage<RecordStage<any>>[],
  inputsInIdOrder: Iterable<Clip | Segment>,
  stats: StatsTable,
  scope: RunScope,
): Promise<{ writer: PartitionWriter; drops: Drop[]; transientDrops: number }> {
  const writer = new PartitionWriter();
  const drops: Drop[] = [];
  let transientDrops = 0;
  const [first, ...following] = stages;
  const clipStage = first.stage.kind === 'clip' ? first : undefined;
  const segmentStages = clipStage ? following : stages;
  for (const item of inputsInIdOrder) {
    if (scope.signal.aborted) break;
    let made: Segment[];
    if (clipStage) {
      const clip = item as Clip;
      const result = await runRecordStage(clipStage, clip, stats, scope);
      if (isDrop(result)) {
        if (result.transient !== undefined) transientDrops++;
        const dropped: Drop = { id: clip.id, clipId: clip.id, uri: clip.uri, stage: clipStage.stage.name, reason: result.reason, detail: result.detail };
        drops.push(result.transient === undefined ? dropped : { ...dropped, transient: result.transient });
        continue;
      }
      made = result as Segment[];
    } else made = [item as Segment];
    for (let current of made) {
      let kept = true;
      for (const planned of segmentStages) {
        const result = await runRecordStage(planned, current, stats, scope);
        if (isDrop(result)) {
          if (result.transient !== undefined) transientDrops++;
          drops.push(segmentDrop(current, planned.stage.name, result));
          kept = false;
          break;
        }
        current = result as Segment;
      }
      if (kept) writer.add(current);
    }
  }
  return { writer, drops, transientDrops };
}
