// Rows in key order without holding them: an external sort. Rows arrive in any order as JSON lines
// with a sort key; past a byte budget the buffer is sorted and written to a run file, and reading
// merges the runs (a binary heap over one line per run). The same rows in any arrival order give
// the same sequence: keys are unique (row ids), so ties never depend on arrival.
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

/** Rows buffered before a run is written, in bytes of UTF-8 JSON (default 48 MiB). */
export const DEFAULT_SPILL_BYTES = 48 * 1024 * 1024;

/**
 * Budgets for spills that fill side by side (a sink's splits): `total` bytes shared by their shares
 * of the rows, at least `floor` each, so three splits hold one slab's worth between them rather
 * than three (a 10% split filled a 48 MiB slab as surely as the 80% one, only later).
 */
export function sharedSpillBudgets<K extends string>(
  shares: Readonly<Record<K, number>>,
  total = DEFAULT_SPILL_BYTES,
  floor = 4 * 1024 * 1024,
): Record<K, number> {
  const keys = Object.keys(shares) as K[];
  const sum = keys.reduce((n, k) => n + Math.max(0, shares[k]), 0);
  return Object.fromEntries(
    keys.map((k) => [k, Math.max(floor, sum > 0 ? Math.round((total * Math.max(0, shares[k])) / sum) : Math.round(total / keys.length))]),
  ) as Record<K, number>;
}

/**
 * Bytes read from each run file at a time while merging: 64 KiB, less when there are many runs (a
 * million segments spill ~550 runs of the train split), so the read buffers stay within 8 MiB, down
 * to 16 KiB a run (a row is ~3.5 KB).
 */
const RUN_READ_BYTES = 64 * 1024;
const MERGE_READ_BUDGET = 8 * 1024 * 1024;
const MIN_RUN_READ_BYTES = 16 * 1024;
const NEWLINE = 0x0a;

/** Bytes of run file written at a time. */
const WRITE_BYTES = 1 << 20;

/** A buffered row: its sort key and where its JSON sits in the slab. */
interface Held {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

interface Entry {
  readonly key: string;
  readonly line: string;
}

const byKey = (a: { readonly key: string }, b: { readonly key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class RowSpill<R> {
  /**
   * The buffered rows' JSON as UTF-8, one slab reused run after run: rows wait here for their run
   * outside the JS heap, instead of as strings that outlive the young generation (up to twice the
   * budget in bytes when a text holds a character beyond Latin-1) and become old garbage at every
   * run, which the collector let pile up to several times what was live.
   */
  private slab: Buffer | undefined;
  private used = 0;
  private held: Held[] = [];
  private readonly runs: string[] = [];
  /** finish() left the held rows in a buffer of their own size: the next add gets a full slab again. */
  private finished = false;
  /** Rows added. */
  count = 0;

  /**
   * @param dir where run files go (created on the first spill; the caller removes it)
   * @param name run file prefix, unique within `dir`
   * @param budget bytes of JSON held before a run is written (a single larger row is held alone)
   */
  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly budget = DEFAULT_SPILL_BYTES,
  ) {
    if (!(budget > 0)) throw new RangeError(`RowSpill budget must be > 0 bytes, got ${budget}`);
  }

  async add(key: string, row: R): Promise<void> {
    const line = JSON.stringify(row);
    const bytes = Buffer.byteLength(line, 'utf8');
    if (this.finished) {
      this.finished = false;
      const slab = Buffer.allocUnsafe(Math.max(this.budget, this.used + bytes));
      this.slab?.copy(slab, 0, 0, this.used);
      this.slab = slab;
    }
    if (this.used + bytes > (this.slab?.length ?? this.budget) && this.held.length) await this.spill();
    if (!this.slab || bytes > this.slab.length) this.slab = Buffer.allocUnsafe(Math.max(this.budget, bytes));
    this.slab.write(line, this.used, 'utf8');
    this.held.push({ key, start: this.used, end: this.used + bytes });
    this.used += bytes;
    this.count++;
  }

  /**
   * Every row is in (until a later add): lets the slab go. With runs on disk, the rows still held
   * become one more run; without, they move to a buffer of their own size. So while one split's rows
   * are merged into shards, the others' wait on disk or in what they need, not in 48 MiB slabs each.
   */
  async finish(): Promise<void> {
    if (this.runs.length) {
      await this.spill();
      this.slab = undefined;
    } else if (this.slab) {
      if (this.used < this.slab.length) {
        const exact = Buffer.allocUnsafeSlow(this.used);
        this.slab.copy(exact, 0, 0, this.used);
        this.slab = exact;
      }
      this.finished = true;
    }
  }

  /** Every row in key order, optionally only those `keep` accepts. May be read more than once. */
  async *sorted(keep?: (row: R) => boolean): AsyncGenerator<R> {
    this.held.sort(byKey);
    if (this.runs.length === 0) {
      for (const { start, end } of this.held) {
        const row = JSON.parse(this.slab!.toString('utf8', start, end)) as R;
        if (!keep || keep(row)) yield row;
      }
      return;
    }
    if (this.held.length) await this.spill();
    // Every row is in a run file now: the slab is not needed again (a row added later gets a new one).
    this.slab = undefined;
    yield* this.merge(keep);
  }

  private async spill(): Promise<void> {
    if (this.held.length === 0) return;
    this.held.sort(byKey);
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${this.name}-${String(this.runs.length).padStart(5, '0')}.jsonl`);
    // key TAB json: keys are ids (hex), never holding a tab; written a megabyte or so at a time.
    const handle = await open(file, 'w');
    try {
      const slab = this.slab!;
      const chunk = Buffer.allocUnsafe(WRITE_BYTES);
      let filled = 0;
      for (const { key, start, end } of this.held) {
        const prefix = `${key}\t`;
        const need = Buffer.byteLength(prefix, 'utf8') + (end - start) + 1;
        if (filled + need > chunk.length && filled > 0) {
          await handle.write(chunk, 0, filled);
          filled = 0;
        }
        if (need > chunk.length) {
          await handle.write(prefix);
          await handle.write(slab, start, end - start);
          await handle.write('\n');
          continue;
        }
        filled += chunk.write(prefix, filled, 'utf8');
        filled += slab.copy(chunk, filled, start, end);
        chunk[filled++] = 0x0a;
      }
      if (filled > 0) await handle.write(chunk, 0, filled);
    } finally {
      await handle.close();
    }
    this.runs.push(file);
    this.held = [];
    this.used = 0;
  }

  private async *merge(keep?: (row: R) => boolean): AsyncGenerator<R> {
    // One read buffer and one line per run: a million-segment corpus spills hundreds of runs per
    // split, all read at once (readline's iterator queued up to 1,024 lines of each: gigabytes).
    const readers: RunLines[] = [];
    const heap: { entry: Entry; run: number }[] = [];
    const next = async (run: number): Promise<Entry | undefined> => {
      const value = await readers[run].next();
      if (value === undefined) return undefined;
      const tab = value.indexOf('\t');
      return { key: value.slice(0, tab), line: value.slice(tab + 1) };
    };
    const less = (i: number, j: number) => heap[i].entry.key < heap[j].entry.key || (heap[i].entry.key === heap[j].entry.key && heap[i].run < heap[j].run);
    const up = (i: number) => {
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!less(i, parent)) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    };
    const down = (i: number) => {
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let smallest = i;
        if (l < heap.length && less(l, smallest)) smallest = l;
        if (r < heap.length && less(r, smallest)) smallest = r;
        if (smallest === i) return;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    };
    try {
      const readBytes = Math.max(MIN_RUN_READ_BYTES, Math.min(RUN_READ_BYTES, Math.floor(MERGE_READ_BUDGET / this.runs.length)));
      for (const file of this.runs) readers.push(await RunLines.open(file, readBytes));
      for (let run = 0; run < readers.length; run++) {
        const entry = await next(run);
        if (entry) {
          heap.push({ entry, run });
          up(heap.length - 1);
        }
      }
      while (heap.length) {
        const top = heap[0];
        const row = JSON.parse(top.entry.line) as R;
        const following = await next(top.run);
        if (following) heap[0] = { entry: following, run: top.run };
        else {
          const last = heap.pop()!;
          if (heap.length) heap[0] = last;
        }
        if (heap.length) down(0);
        if (!keep || keep(row)) yield row;
      }
    } finally {
      await Promise.all(readers.map((reader) => reader.close()));
    }
  }
}

/** A run file a line at a time: one read buffer, and the part of a line that crosses it. */
class RunLines {
  private readonly buffer: Buffer;
  private chunk: Buffer;
  private offset = 0;
  private ended = false;

  private constructor(
    private readonly handle: FileHandle,
    bytes: number,
  ) {
    this.buffer = Buffer.allocUnsafe(bytes);
    this.chunk = this.buffer.subarray(0, 0);
  }

  static async open(file: string, bytes: number): Promise<RunLines> {
    return new RunLines(await open(file, 'r'), bytes);
  }

  /** The next line without its newline, or undefined at the end of the file. */
  async next(): Promise<string | undefined> {
    let pieces: Buffer[] | undefined;
    for (;;) {
      const end = this.chunk.indexOf(NEWLINE, this.offset);
      if (end >= 0) {
        const tail = this.chunk.subarray(this.offset, end);
        this.offset = end + 1;
        return (pieces ? Buffer.concat([...pieces, tail]) : tail).toString('utf8');
      }
      // The rest of the buffer is the start of a line: copied out, as the buffer is read into again.
      if (this.offset < this.chunk.length) (pieces ??= []).push(Buffer.from(this.chunk.subarray(this.offset)));
      if (this.ended) return pieces ? Buffer.concat(pieces).toString('utf8') : undefined;
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, null);
      if (bytesRead === 0) this.ended = true;
      this.chunk = this.buffer.subarray(0, bytesRead);
      this.offset = 0;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
