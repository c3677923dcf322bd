// The input of a record phase: its partitions, each read on demand, so a partition waiting for a
// slot or for another worker holds none of its records as objects.
import type { Clip, Segment } from '../../schemas/records.ts';
import type { StoredCorpus } from '../corpus.ts';
import { inIdOrder } from './partition.ts';
import { decodePartitionInputs, encodePartitionInputs } from './stored-partition.ts';

export interface PhaseInput {
  readonly partitions: readonly { readonly partition: number; readonly size: number }[];
  /** The partition's records, all at once (what a queued job carries). */
  load(partition: number): Promise<readonly (Clip | Segment)[]>;
  /** The partition's records in id order, each read when it is reached (for its key, and to process it here). */
  inIdOrder(partition: number): Promise<Iterable<Clip | Segment>>;
}

/**
 * Ingest's clips by partition, each partition's held as the NDJSON bytes of its clips and parsed when
 * the partition is reached: a million segments come from a hundred thousand clips and more, which
 * as objects held over a kilobyte of heap each through the first record phase.
 */
export function clipInput(clips: readonly Clip[]): PhaseInput {
  const byPartition = new Map<number, Clip[]>();
  for (const clip of clips) {
    const list = byPartition.get(clip.partition);
    if (list) list.push(clip);
    else byPartition.set(clip.partition, [clip]);
  }
  const packed = new Map<number, Buffer>();
  const partitions = [...byPartition]
    .sort((a, b) => a[0] - b[0])
    .map(([partition, list]) => {
      packed.set(partition, encodePartitionInputs(list));
      return { partition, size: list.length };
    });
  const load = (partition: number): Clip[] => {
    const bytes = packed.get(partition);
    return bytes ? (decodePartitionInputs(bytes, `ingest's clips of partition ${partition}`) as Clip[]) : [];
  };
  return {
    partitions,
    load: async (partition) => load(partition),
    inIdOrder: async (partition) => inIdOrder(load(partition)),
  };
}

/** The segments of the phase before, read from the store a partition at a time. */
export function corpusInput(corpus: StoredCorpus): PhaseInput {
  const parts = new Map(corpus.parts.map((part) => [part.partition, part]));
  return {
    partitions: corpus.parts.filter((part) => part.count > 0).map((part) => ({ partition: part.partition, size: part.count })),
    load: (partition) => corpus.load(parts.get(partition)!),
    inIdOrder: (partition) => corpus.inIdOrder(parts.get(partition)!),
  };
}
