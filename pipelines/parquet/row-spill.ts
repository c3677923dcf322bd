// Rows in key order without holding them: an external sort. Rows arrive in any order as JSON lines
// with a sort key; past a byte budget the buffer is sorted and written to a run file, and reading
// merges the runs (a binary heap over one line per run). The same rows in any arrival order give
// the same sequence: keys are unique (row ids), so ties never depend on arrival.
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Rows buffered before a run is written, in bytes of JSON (default 48 MiB). */
export const DEFAULT_SPILL_BYTES = 48 * 1024 * 1024;

/** Characters of run file written at a time. */
const WRITE_CHARS = 1 << 20;

interface Entry {
  readonly key: string;
  readonly line: string;
}

const byKey = (a: Entry, b: Entry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class RowSpill<R> {
  private buffer: Entry[] = [];
  private bytes = 0;
  private readonly runs: string[] = [];
  /** Rows added. */
  count = 0;

  /**
   * @param dir where run files go (created on the first spill; the caller removes it)
   * @param name run file prefix, unique within `dir`
   * @param budget bytes of JSON held before a run is written
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
    this.buffer.push({ key, line });
    this.bytes += line.length + key.length;
    this.count++;
    if (this.bytes >= this.budget) await this.spill();
  }

  /** Every row in key order, optionally only those `keep` accepts. May be read more than once. */
  async *sorted(keep?: (row: R) => boolean): AsyncGenerator<R> {
    this.buffer.sort(byKey);
    if (this.runs.length === 0) {
      for (const entry of this.buffer) {
        const row = JSON.parse(entry.line) as R;
        if (!keep || keep(row)) yield row;
      }
      return;
    }
    if (this.buffer.length) await this.spill();
    yield* this.merge(keep);
  }

  private async spill(): Promise<void> {
    if (this.buffer.length === 0) return;
    this.buffer.sort(byKey);
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${this.name}-${String(this.runs.length).padStart(5, '0')}.jsonl`);
    // key TAB json: keys are ids (hex), never holding a tab. Written a megabyte or so at a time, not
    // joined into one string of the whole budget (an allocation the collector keeps falling behind on).
    const handle = await open(file, 'w');
    try {
      let chunk = '';
      for (const entry of this.buffer) {
        chunk += `${entry.key}\t${entry.line}\n`;
        if (chunk.length >= WRITE_CHARS) {
          await handle.write(chunk);
          chunk = '';
        }
      }
      if (chunk) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    this.runs.push(file);
    this.buffer = [];
    this.bytes = 0;
  }

  private async *merge(keep?: (row: R) => boolean): AsyncGenerator<R> {
    const readers = this.runs.map((file) => createInterface({ input: createReadStream(file), crlfDelay: Infinity })[Symbol.asyncIterator]());
    const heap: { entry: Entry; run: number }[] = [];
    const next = async (run: number): Promise<Entry | undefined> => {
      const { value, done } = await readers[run].next();
      if (done) return undefined;
      const tab = (value as string).indexOf('\t');
      return { key: (value as string).slice(0, tab), line: (value as string).slice(tab + 1) };
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
    for (let run = 0; run < readers.length; run++) {
      const entry = await next(run);
      if (entry) {
        heap.push({ entry, run });
        up(heap.length - 1);
      }
    }
    try {
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
      await Promise.all(readers.map((reader) => reader.return?.()));
    }
  }
}
