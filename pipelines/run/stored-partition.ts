// A partition's stored result as NDJSON: a header line (format, counts, stats), then one segment a
// line, then one drop a line, every line ending in "\n". It is built and read a line at a time, so no
// string ever holds a whole partition: as one JSON document a partition of 4,000 segments was a
// string of ~20 million characters (40 MB), made and parsed whole on every write and read, and at
// that rate of large allocations the collector fell behind and the heap climbed through a phase.
// The object is still written with one atomic put, so done = the object exists.
import type { Clip, Drop, Segment } from '../../schemas/records.ts';
import { FatalError } from '../errors.ts';
import type { PartitionResult } from '../executors/partition-executor.ts';
import type { StatsTable } from '../stats.ts';

/** The header's `format`; part of every partition key, so a store never mixes formats under one key. */
export const PARTITION_FORMAT = 'emoforge.partition.ndjson/1';

interface PartitionHeader {
  readonly format: string;
  readonly segments: number;
  readonly drops: number;
  readonly stats: StatsTable;
}

/** Lines are gathered into strings of about this many characters before each becomes bytes. */
const CHUNK_CHARS = 1 << 16;
const NEWLINE = 0x0a;

/** The stored bytes of a result (its `transientDrops` are not stored: such a result is never stored). */
export function encodePartitionResult(result: { readonly segments: readonly Segment[]; readonly drops: readonly Drop[]; readonly stats: StatsTable }): Buffer {
  const writer = new PartitionWriter();
  for (const segment of result.segments) writer.add(segment);
  return writer.finish(result.drops, result.stats);
}

/**
 * A partition's result, encoded as its segments are made: each segment becomes its line when it is
 * done, so a partition in progress holds lines of bytes rather than thousands of finished segments
 * (which outlived the young generation and became old garbage with every partition).
 */
export class PartitionWriter {
  private readonly chunks: Buffer[] = [];
  private pending = '';
  /** Segments added. */
  count = 0;

  add(segment: Segment): void {
    this.pending += `${JSON.stringify(segment)}\n`;
    this.count++;
    if (this.pending.length >= CHUNK_CHARS) this.flush();
  }

  /** The stored bytes: the header (counts and stats, known now) first, the segments' lines, the drops' lines. */
  finish(drops: readonly Drop[], stats: StatsTable): Buffer {
    for (const drop of drops) {
      this.pending += `${JSON.stringify(drop)}\n`;
      if (this.pending.length >= CHUNK_CHARS) this.flush();
    }
    this.flush();
    const header: PartitionHeader = { format: PARTITION_FORMAT, segments: this.count, drops: drops.length, stats };
    return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), ...this.chunks]);
  }

  private flush(): void {
    if (this.pending) this.chunks.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
  }
}

/** A header line, then a line per record of each list in turn. */
function encodeLines(header: object, lists: readonly (readonly unknown[])[]): Buffer {
  const chunks: Buffer[] = [];
  let pending = `${JSON.stringify(header)}\n`;
  for (const list of lists)
    for (const record of list) {
      pending += `${JSON.stringify(record)}\n`;
      if (pending.length >= CHUNK_CHARS) {
        chunks.push(Buffer.from(pending, 'utf8'));
        pending = '';
      }
    }
  chunks.push(Buffer.from(pending, 'utf8'));
  return Buffer.concat(chunks);
}

/** The header's `format` of a queued partition's input records (clips, or segments of the phase before). */
export const PARTITION_INPUTS_FORMAT = 'emoforge.partition-inputs.ndjson/1';

/** The stored bytes of a queued partition's input records: a header line, then a record a line. */
export function encodePartitionInputs(records: readonly (Clip | Segment)[]): Buffer {
  return encodeLines({ format: PARTITION_INPUTS_FORMAT, records: records.length }, [records]);
}

/** The input records `encodePartitionInputs` stored. */
export function decodePartitionInputs(bytes: Buffer, where: string): (Clip | Segment)[] {
  const lines = new LineReader(bytes, where);
  const header = lines.next() as { format?: unknown; records?: unknown } | null;
  if (header?.format !== PARTITION_INPUTS_FORMAT)
    throw lines.corrupt(`its header names format ${JSON.stringify(header?.format)}, not ${PARTITION_INPUTS_FORMAT}`);
  const count = header.records;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw lines.corrupt('its header lacks the record count');
  const records: (Clip | Segment)[] = new Array(count);
  for (let i = 0; i < count; i++) records[i] = lines.next() as Clip | Segment;
  lines.end();
  return records;
}

/**
 * The result as stored. With `segments: false` its segment lines are counted, not parsed: the
 * record phase needs only the count, the drops and the stats of a partition found in the store.
 */
export function decodePartitionResult(bytes: Buffer, where: string, options: { readonly segments?: boolean } = {}): PartitionResult {
  const lines = new LineReader(bytes, where);
  const header = lines.header();
  let segments: Segment[] | undefined;
  if (options.segments === false) for (let i = 0; i < header.segments; i++) lines.skip();
  else {
    segments = new Array(header.segments);
    for (let i = 0; i < header.segments; i++) segments[i] = lines.next() as Segment;
  }
  const drops: Drop[] = new Array(header.drops);
  for (let i = 0; i < header.drops; i++) drops[i] = lines.next() as Drop;
  lines.end();
  return { count: header.segments, ...(segments ? { segments } : {}), drops, stats: header.stats };
}

/** A partition's segments, parsed one at a time: `next()` gives undefined after the last. */
export interface StoredSegments {
  next(): Segment | undefined;
}

/** The segments alone, parsed as they are asked for (the drops' lines are counted, not parsed). */
export function storedSegments(bytes: Buffer, where: string): StoredSegments {
  const lines = new LineReader(bytes, where);
  const header = lines.header();
  let read = 0;
  return {
    next() {
      if (read < header.segments) {
        read++;
        return lines.next() as Segment;
      }
      if (read === header.segments) {
        read++;
        for (let i = 0; i < header.drops; i++) lines.skip();
        lines.end();
      }
      return undefined;
    },
  };
}

/**
 * A stored result's segment lines, indexed up front (the whole object is checked first, so a damaged
 * one fails before any segment is used): each line's place and its segment's id; a segment is parsed
 * only when asked for. The record phase after a global stage reads its inputs this way, in id order,
 * a segment at a time.
 */
export class SegmentLines {
  private constructor(
    private readonly bytes: Buffer,
    private readonly where: string,
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
  ) {}

  static of(bytes: Buffer, where: string): SegmentLines {
    const lines = new LineReader(bytes, where);
    const header = lines.header();
    const starts = new Float64Array(header.segments);
    const ends = new Float64Array(header.segments);
    for (let i = 0; i < header.segments; i++) [starts[i], ends[i]] = lines.skip();
    for (let i = 0; i < header.drops; i++) lines.skip();
    lines.end();
    return new SegmentLines(bytes, where, starts, ends);
  }

  get length(): number {
    return this.starts.length;
  }

  /** The id of segment `i`, read from the line's start when it is written first (as records are), else from the parsed line. */
  id(i: number): string {
    const start = this.starts[i];
    if (this.bytes.toString('latin1', start, start + ID_PREFIX.length) === ID_PREFIX) {
      const close = this.bytes.indexOf(QUOTE, start + ID_PREFIX.length);
      const id = this.bytes.toString('utf8', start + ID_PREFIX.length, close);
      if (close > 0 && close < this.ends[i] && !id.includes('\\')) return id;
    }
    return this.segment(i).id;
  }

  segment(i: number): Segment {
    try {
      return JSON.parse(this.bytes.toString('utf8', this.starts[i], this.ends[i])) as Segment;
    } catch (error) {
      throw new FatalError(
        `the stored partition ${this.where} is damaged: segment line ${i + 1} is not JSON. Delete it and run again (the partition is processed anew)`,
        {
          cause: error,
        },
      );
    }
  }
}

const ID_PREFIX = '{"id":"';
const QUOTE = 0x22;

/** Reads a stored result a line at a time; a result cut short or not in this format is a clear error, never a partial corpus. */
class LineReader {
  private offset = 0;
  private line = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly where: string,
  ) {}

  header(): PartitionHeader {
    const header = this.next() as PartitionHeader | null;
    if (header?.format !== PARTITION_FORMAT) throw this.corrupt(`its header names format ${JSON.stringify(header?.format)}, not ${PARTITION_FORMAT}`);
    if (!Number.isInteger(header.segments) || !Number.isInteger(header.drops) || header.segments < 0 || header.drops < 0 || typeof header.stats !== 'object')
      throw this.corrupt('its header lacks the segment and drop counts or the stats');
    return header as PartitionHeader;
  }

  next(): unknown {
    const end = this.lineEnd();
    const text = this.bytes.toString('utf8', this.offset, end);
    this.offset = end + 1;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw this.corrupt(`line ${this.line} is not JSON`, error);
    }
  }

  /** Passes over a line; returns where it starts and ends (before its newline). */
  skip(): [number, number] {
    const start = this.offset;
    const end = this.lineEnd();
    this.offset = end + 1;
    return [start, end];
  }

  end(): void {
    if (this.offset !== this.bytes.length) throw this.corrupt(`it has more than the ${this.line} lines its header counts`);
  }

  private lineEnd(): number {
    this.line++;
    const end = this.bytes.indexOf(NEWLINE, this.offset);
    if (end < 0) throw this.corrupt(`it ends at line ${this.line}, before the lines its header counts (truncated?)`);
    return end;
  }

  corrupt(what: string, cause?: unknown): FatalError {
    return new FatalError(
      `the stored partition ${this.where} is damaged: ${what}. Delete it and run again (the partition is processed anew)`,
      cause === undefined ? undefined : { cause },
    );
  }
}
