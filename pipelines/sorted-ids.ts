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
