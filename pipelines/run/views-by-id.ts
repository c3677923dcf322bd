// The views of a global step, gathered as the corpus streams past (partition order) and handed over
// in segment-id order. A million segments give a million views: the ids are held packed (32 bytes
// per sha256 hex id, instead of a string and a wrapper object per view) and sorted by index.

import { IdColumn, type SortedIds } from '../sorted-ids.ts';

export class ViewsById<V> {
  private readonly views: V[] = [];
  private ids = new IdColumn();

  get length(): number {
    return this.views.length;
  }

  add(id: string, view: V): void {
    this.views.push(view);
    this.ids.push(id);
  }

  /** The views sorted by segment id (ids are unique); empties this collection. */
  sorted(): V[] {
    const views = this.inOrder(this.ids.order());
    this.clear();
    return views;
  }

  /**
   * The views sorted by segment id, and the ids in the same order, packed (so a view need not keep
   * its segment's id as a string); empties this collection.
   */
  sortedWithIds(): { readonly ids: SortedIds; readonly views: V[] } {
    const order = this.ids.order();
    const views = this.inOrder(order);
    const ids = this.ids.sortedIds(order);
    this.clear();
    return { ids, views };
  }

  private inOrder(order: Uint32Array): V[] {
    const views = this.views;
    const result = new Array<V>(order.length);
    for (let i = 0; i < order.length; i++) result[i] = views[order[i]];
    return result;
  }

  private clear(): void {
    this.views.length = 0;
    this.ids = new IdColumn();
  }
}
