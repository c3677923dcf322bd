// Segment ids in sorted order, packed: a lookup table from a segment id to its position, for
// per-segment plans (splits) that a million segments would otherwise keep in a Map keyed by id
// strings (about 150 bytes an entry; here 32 bytes, sha256 hex ids stored as their bytes).

/** A segment id as a run makes them: lowercase sha256 hex. */
export const HEX_ID = /^[0-9a-f]{64}$/;
/** Bytes of a packed HEX_ID. */
export const ID_BYTES = 32;

export class SortedIds {
  private readonly packed: Buffer | undefined;
  /** Ids kept as strings when some id is not lowercase sha256 hex (tests may use any string). */
  private readonly strings: readonly string[] | undefined;
  readonly length: number;

  /** @param ids unique ids in ascending order */
  constructor(ids: readonly string[]);
  /** @internal ids already packed (32 bytes each, ascending), as ViewsById gathers them */
  constructor(ids: { readonly packed: Buffer; readonly length: number });
  constructor(ids: readonly string[] | { readonly packed: Buffer; readonly length: number }) {
    if (!Array.isArray(ids)) {
      const { packed, length } = ids as { readonly packed: Buffer; readonly length: number };
      if (packed.length !== length * ID_BYTES) throw new RangeError(`SortedIds: ${packed.length} packed bytes are not ${length} ids`);
      this.length = length;
      this.packed = packed;
      return;
    }
    const list = ids as readonly string[];
    this.length = list.length;
    for (let i = 1; i < list.length; i++)
      if (!(list[i - 1] < list[i])) throw new RangeError(`SortedIds takes unique ids in ascending order; ${list[i - 1]} comes before ${list[i]}`);
    if (list.every((id) => HEX_ID.test(id))) {
      const packed = Buffer.alloc(list.length * ID_BYTES);
      list.forEach((id, i) => packed.write(id, i * ID_BYTES, ID_BYTES, 'hex'));
      this.packed = packed;
    } else this.strings = [...list];
  }

  /** The id at `index` (a new string each call: hold it no longer than needed). */
  idAt(index: number): string {
    if (!(index >= 0 && index < this.length)) throw new RangeError(`SortedIds: no id at ${index} of ${this.length}`);
    return this.strings ? this.strings[index] : this.packed!.toString('hex', index * ID_BYTES, (index + 1) * ID_BYTES);
  }

  /** Position of `id`, or -1. */
  indexOf(id: string): number {
    if (this.strings) {
      let [low, high] = [0, this.strings.length - 1];
      while (low <= high) {
        const mid = (low + high) >> 1;
        const at = this.strings[mid];
        if (at === id) return mid;
        if (at < id) low = mid + 1;
        else high = mid - 1;
      }
      return -1;
    }
    if (!HEX_ID.test(id)) return -1;
    const packed = this.packed!;
    const key = Buffer.from(id, 'hex');
    let [low, high] = [0, this.length - 1];
    while (low <= high) {
      const mid = (low + high) >> 1;
      const order = packed.compare(key, 0, ID_BYTES, mid * ID_BYTES, (mid + 1) * ID_BYTES);
      if (order === 0) return mid;
      if (order < 0) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}

/**
 * A growable column of ids: packed (32 bytes each) while every id is lowercase sha256 hex, as
 * strings once one is not (tests use any string). What ViewsById gathers its views' ids in, and
 * what the audit digest keeps its clips' winning segment ids in.
 */
export class IdColumn {
  private packed: Buffer | undefined = Buffer.alloc(ID_BYTES * 1024);
  private strings: string[] | undefined;
  length = 0;

  /** Adds `id` at the end; returns its index. */
  push(id: string): number {
    const index = this.length++;
    this.set(index, id);
    return index;
  }

  /** Replaces the id at `index` (below length). */
  set(index: number, id: string): void {
    if (this.packed && !HEX_ID.test(id)) this.unpack();
    if (this.strings) {
      this.strings[index] = id;
      return;
    }
    if ((index + 1) * ID_BYTES > this.packed!.length) {
      const grown = Buffer.alloc(Math.max(this.packed!.length * 2, (index + 1) * ID_BYTES));
      this.packed!.copy(grown);
      this.packed = grown;
    }
    this.packed!.write(id, index * ID_BYTES, ID_BYTES, 'hex');
  }

  /** The id at `index` (a new string each call when packed). */
  at(index: number): string {
    return this.strings ? this.strings[index] : this.packed!.toString('hex', index * ID_BYTES, (index + 1) * ID_BYTES);
  }

  /** Whether the id at `index` is `id` (without making a string when packed; `scratch` holds `id` packed when it is hex). */
  is(index: number, id: string, scratch: Buffer | undefined): boolean {
    if (this.strings) return this.strings[index] === id;
    return scratch !== undefined && this.packed!.compare(scratch, 0, ID_BYTES, index * ID_BYTES, (index + 1) * ID_BYTES) === 0;
  }

  /** The first four bytes of the packed id at `index` (a hash of it: sha256 bytes are uniform); undefined when ids are strings. */
  lead32(index: number): number | undefined {
    return this.packed ? this.packed.readUInt32BE(index * ID_BYTES) : undefined;
  }

  get isPacked(): boolean {
    return this.packed !== undefined;
  }

  /** Indexes in id order (ids unique). */
  order(): Uint32Array {
    const n = this.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.strings) {
      const ids = this.strings;
      order.sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
    } else {
      // Bytes of lowercase hex ids sort as the ids do. The first six bytes decide almost every comparison.
      const packed = this.packed!;
      const lead = new Float64Array(n);
      for (let i = 0; i < n; i++) lead[i] = packed.readUIntBE(i * ID_BYTES, 6);
      order.sort((a, b) => lead[a] - lead[b] || packed.compare(packed, b * ID_BYTES, (b + 1) * ID_BYTES, a * ID_BYTES, (a + 1) * ID_BYTES));
    }
    return order;
  }

  /** The ids in `order` (from order()), as SortedIds. */
  sortedIds(order: Uint32Array): SortedIds {
    if (this.strings) {
      const strings = this.strings;
      return new SortedIds(Array.from(order, (i) => strings[i]));
    }
    const packed = Buffer.alloc(order.length * ID_BYTES);
    order.forEach((from, to) => this.packed!.copy(packed, to * ID_BYTES, from * ID_BYTES, (from + 1) * ID_BYTES));
    return new SortedIds({ packed, length: order.length });
  }

  private unpack(): void {
    const packed = this.packed!;
    this.strings = Array.from({ length: this.length }, (_, i) => packed.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES));
    this.packed = undefined;
  }
}

/**
 * Id → the index it was first added at, for a hundred thousand ids and more: the ids in an IdColumn
 * and an open-addressing table of indexes over them (a sha256 id's first bytes are its hash), where
 * a Map would hold a string and an entry per id. A Map once some id is not sha256 hex.
 */
export class IdIndex {
  private readonly ids = new IdColumn();
  private table = new Int32Array(1024).fill(-1);
  private map: Map<string, number> | undefined;
  private readonly scratch = Buffer.alloc(ID_BYTES);

  get length(): number {
    return this.ids.length;
  }

  /** The id at `index`. */
  at(index: number): string {
    return this.ids.at(index);
  }

  /** The index of `id`, adding it at the end when new; `added` tells which. */
  add(id: string): { readonly index: number; readonly added: boolean } {
    if (!this.map && !HEX_ID.test(id)) {
      this.map = new Map();
      for (let i = 0; i < this.ids.length; i++) this.map.set(this.ids.at(i), i);
      this.table = new Int32Array(0);
    }
    if (this.map) {
      const known = this.map.get(id);
      if (known !== undefined) return { index: known, added: false };
      const index = this.ids.push(id);
      this.map.set(id, index);
      return { index, added: true };
    }
    this.scratch.write(id, 0, ID_BYTES, 'hex');
    const mask = this.table.length - 1;
    let slot = this.scratch.readUInt32BE(0) & mask;
    for (; this.table[slot] >= 0; slot = (slot + 1) & mask)
      if (this.ids.is(this.table[slot], id, this.scratch)) return { index: this.table[slot], added: false };
    const index = this.ids.push(id);
    this.table[slot] = index;
    if (2 * this.ids.length > this.table.length) this.grow();
    return { index, added: true };
  }

  private grow(): void {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    for (let index = 0; index < this.ids.length; index++) {
      let slot = this.ids.lead32(index)! & mask;
      while (table[slot] >= 0) slot = (slot + 1) & mask;
      table[slot] = index;
    }
    this.table = table;
  }
}
