// The views of a global step, gathered as the corpus streams past (partition order) and handed over
// in segment-id order. A million segments give a million views: the ids are held packed (32 bytes
// per sha256 hex id, instead of a string and a wrapper object per view) and sorted by index.

import { HEX_ID, ID_BYTES, SortedIds } from '../sorted-ids.ts';

export class ViewsById<V> {
  private readonly views: V[] = [];
  private packed: Buffer = Buffer.alloc(ID_BYTES * 1024);
  /** Ids that are not lowercase sha256 hex (none in a run; tests may use any string): all ids are then kept as strings. */
  private strings: string[] | undefined;

  get length(): number {
    return this.views.length;
  }

  add(id: string, view: V): void {
    const index = this.views.length;
    this.views.push(view);
    if (this.strings) {
      this.strings.push(id);
      return;
    }
    if (!HEX_ID.test(id)) {
      this.strings = Array.from({ length: index }, (_, i) => this.packed.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES));
      this.strings.push(id);
      this.packed = Buffer.alloc(0);
      return;
    }
    if ((index + 1) * ID_BYTES > this.packed.length) {
      const grown = Buffer.alloc(this.packed.length * 2);
      this.packed.copy(grown);
      this.packed = grown;
    }
    this.packed.write(id, index * ID_BYTES, ID_BYTES, 'hex');
  }

  /** The views sorted by segment id (ids are unique); empties this collection. */
  sorted(): V[] {
    const views = this.inOrder(this.order());
    this.clear();
    return views;
  }

  /**
   * The views sorted by segment id, and the ids in the same order, packed (so a view need not keep
   * its segment's id as a string); empties this collection.
   */
  sortedWithIds(): { readonly ids: SortedIds; readonly views: V[] } {
    const order = this.order();
    const views = this.inOrder(order);
    let ids: SortedIds;
    if (this.strings) {
      const strings = this.strings;
      ids = new SortedIds(Array.from(order, (i) => strings[i]));
    } else {
      const packed = Buffer.alloc(order.length * ID_BYTES);
      order.forEach((from, to) => this.packed.copy(packed, to * ID_BYTES, from * ID_BYTES, (from + 1) * ID_BYTES));
      ids = new SortedIds({ packed, length: order.length });
    }
    this.clear();
    return { ids, views };
  }

  /** Indexes of the views in id order. */
  private order(): Uint32Array {
    const n = this.views.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.strings) {
      const ids = this.strings;
      order.sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
    } else {
      // Bytes of lowercase hex ids sort as the ids do. The first six bytes decide almost every comparison.
      const packed = this.packed;
      const lead = new Float64Array(n);
      for (let i = 0; i < n; i++) lead[i] = packed.readUIntBE(i * ID_BYTES, 6);
      order.sort((a, b) => lead[a] - lead[b] || packed.compare(packed, b * ID_BYTES, (b + 1) * ID_BYTES, a * ID_BYTES, (a + 1) * ID_BYTES));
    }
    return order;
  }

  private inOrder(order: Uint32Array): V[] {
    const views = this.views;
    const result = new Array<V>(order.length);
    for (let i = 0; i < order.length; i++) result[i] = views[order[i]];
    return result;
  }

  private clear(): void {
    this.views.length = 0;
    this.packed = Buffer.alloc(0);
    this.strings = undefined;
  }
}
