// The corpus between phases, without holding it: each partition's segments stay in the store (the
// record phase's stored result) and are read back a partition's bytes at a time, each segment parsed
// when it is reached; the decisions of the global stages run since are applied as they stream past. The first time a decision meets a
// segment, its outcome is recorded (drops, counters, flags); every later read gives the same
// segment and records nothing.
import type { Segment } from '../schemas/records.ts';
import { FatalError } from './errors.ts';
import { isDrop, type DropResult, type GlobalDecision } from './stage.ts';
import { SegmentLines, storedSegments, type StoredSegments } from './run/stored-partition.ts';
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
    const pass = await this.open(part);
    const segments: Segment[] = [];
    for (let segment = pass.next(); segment; segment = pass.next()) segments.push(segment);
    return segments;
  }

  /**
   * Every segment, a partition at a time (partition order; within one, stored order). Each segment
   * is parsed and decided when it is reached, so a pass holds one partition's stored bytes and the
   * segment in hand, not a partition of parsed segments (which outlived the young generation and
   * became old garbage for every pass).
   */
  async *stream(): AsyncGenerator<Segment> {
    for (const part of this.parts) {
      const pass = await this.open(part);
      try {
        for (let segment = pass.next(); segment; segment = pass.next()) yield segment;
      } finally {
        // A reader that stops early still leaves every outcome of the partition recorded, as a whole read would.
        pass.drain();
      }
    }
  }

  /**
   * The partition's segments after every decision, in id order, each parsed and decided when it is
   * reached: a record phase after a global stage hashes and processes its inputs this way, holding
   * the partition's stored bytes and the segment in hand rather than a partition of segments.
   */
  async inIdOrder(part: CorpusPart): Promise<Iterable<Segment>> {
    if (part.segments) return (await this.load(part)).sort((a, b) => (a.id < b.id ? -1 : 1));
    const bytes = await this.bytesOf(part.key);
    const lines = SegmentLines.of(bytes, `${part.key} in ${this.store.location}`);
    const ids = Array.from({ length: lines.length }, (_, i) => lines.id(i));
    const order = Array.from(ids.keys()).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : a - b));
    const layers = this.meet(part);
    const decided = function* (): Generator<Segment> {
      let next = 0;
      let failed = false;
      try {
        for (; next < order.length; next++) {
          const segment = decide(lines.segment(order[next]), layers);
          if (segment && segment.id !== ids[order[next]])
            throw new FatalError(`global stage decisions changed the id of segment ${ids[order[next]]} to ${segment.id}: a decision must keep ids`);
          if (segment) yield segment;
        }
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A reader that stops early still leaves every outcome of the partition recorded.
        if (!failed && layers.some((l) => l.first)) for (next++; next < order.length; next++) decide(lines.segment(order[next]), layers);
      }
    };
    return { [Symbol.iterator]: decided };
  }

  /** The partition's segments, one at a time through the decisions; outcomes recorded the first time a decision meets the partition. */
  private async open(part: CorpusPart): Promise<DecidedSegments> {
    const stored = part.segments ? heldSegments(part.segments) : storedSegments(await this.bytesOf(part.key), `${part.key} in ${this.store.location}`);
    return new DecidedSegments(stored, this.meet(part));
  }

  /** Each decision, and whether this is its first meeting with the partition (whose outcomes it then records). */
  private meet(part: CorpusPart): MetLayer[] {
    return this.layers.map((layer) => {
      const seen = this.recorded.get(layer)!;
      const first = !seen.has(part.partition);
      seen.add(part.partition);
      return { layer, first };
    });
  }

  private async bytesOf(key: string): Promise<Buffer> {
    const bytes = await this.store.get(key);
    if (!bytes) throw new FatalError(`partition result ${key} is missing from the store ${this.store.location}: was the store cleaned during the run?`);
    return bytes;
  }
}

interface MetLayer {
  readonly layer: CorpusLayer;
  readonly first: boolean;
}

/** The segment after every decision (outcomes recorded at a first meeting), or undefined when one drops it. */
function decide(input: Segment, layers: readonly MetLayer[]): Segment | undefined {
  let segment = input;
  for (const { layer, first } of layers) {
    const result = layer.decision.apply(segment, first ? layer.flag : quiet);
    if (first) layer.record(segment, result);
    if (isDrop(result)) return undefined;
    segment = result;
  }
  return segment;
}

const quiet = () => undefined;

/** A partition's stored segments after every decision, one at a time. */
class DecidedSegments {
  constructor(
    private readonly stored: StoredSegments,
    private readonly layers: readonly MetLayer[],
  ) {}

  /** The next segment that every decision keeps, or undefined at the end of the partition. */
  next(): Segment | undefined {
    for (;;) {
      const input = this.stored.next();
      if (input === undefined) return undefined;
      const segment = decide(input, this.layers);
      if (segment) return segment;
    }
  }

  /** Decides the rest of the partition (recording outcomes a first meeting has not recorded yet). */
  drain(): void {
    if (this.layers.some((l) => l.first)) while (this.next());
  }
}

function heldSegments(segments: readonly Segment[]): StoredSegments {
  let index = 0;
  return { next: () => segments[index++] };
}
