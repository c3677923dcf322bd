// The corpus between phases, without holding it: each partition's segments stay in the store (the
// record phase's stored result) and are read back one partition at a time; the decisions of the
// global stages run since are applied as they stream past. The first time a decision meets a
// segment, its outcome is recorded (drops, counters, flags); every later read gives the same
// segment and records nothing.
import type { Segment } from '../schemas/records.ts';
import { FatalError } from './errors.ts';
import { isDrop, type DropResult, type GlobalDecision } from './stage.ts';
import { decodePartitionSegments } from './run/stored-partition.ts';
import type { Store } from './store/store.ts';

/** One partition of the corpus: stored under `key`, or held here when its result could not be stored. */
export interface CorpusPart {
  readonly partition: number;
  readonly key: string;
  /** Segments the partition's result holds. */
  readonly count: number;
  /** Held when the result is not in the store (transient failures, a dry run's stand-in text). */
  readonly segments?: readonly Segment[];
}

/** A global stage's decision, and what the runner does the first time it applies to a segment. */
export interface CorpusLayer {
  readonly stage: string;
  readonly decision: GlobalDecision;
  /** Hears the first outcome for every segment (kept: the new segment; dropped: the drop and the input). */
  record(input: Segment, result: Segment | DropResult): void;
  flag(reason: string, detail: string): void;
}

export class StoredCorpus {
  /** Per layer, the partitions whose outcomes it has recorded. */
  private readonly recorded = new Map<CorpusLayer, Set<number>>();

  constructor(
    private readonly store: Store,
    readonly parts: readonly CorpusPart[],
    private readonly layers: readonly CorpusLayer[] = [],
  ) {
    for (const layer of layers) this.recorded.set(layer, new Set());
  }

  /** The same stored partitions with one more decision on top. */
  withLayer(layer: CorpusLayer): StoredCorpus {
    const next = new StoredCorpus(this.store, this.parts, [...this.layers, layer]);
    for (const existing of this.layers) next.recorded.set(existing, this.recorded.get(existing)!);
    return next;
  }

  /** Whether some decision has not met every partition yet. */
  get pending(): boolean {
    return this.layers.some((layer) => this.recorded.get(layer)!.size < this.parts.length);
  }

  /** The segments of one partition after every decision, in the order they were stored. */
  async load(part: CorpusPart): Promise<Segment[]> {
    let segments = part.segments ? [...part.segments] : await this.read(part.key);
    for (const layer of this.layers) {
      const seen = this.recorded.get(layer)!;
      const first = !seen.has(part.partition);
      seen.add(part.partition);
      const quiet = () => undefined;
      const kept: Segment[] = [];
      for (const segment of segments) {
        const result = layer.decision.apply(segment, first ? layer.flag : quiet);
        if (first) layer.record(segment, result);
        if (!isDrop(result)) kept.push(result);
      }
      segments = kept;
    }
    return segments;
  }

  /** Every segment, a partition at a time (partition order; within one, stored order). */
  async *stream(): AsyncGenerator<Segment> {
    for (const part of this.parts) yield* await this.load(part);
  }

  private async read(key: string): Promise<Segment[]> {
    const bytes = await this.store.get(key);
    if (!bytes) throw new FatalError(`partition result ${key} is missing from the store ${this.store.location}: was the store cleaned during the run?`);
    return decodePartitionSegments(bytes, `${key} in ${this.store.location}`);
  }
}
