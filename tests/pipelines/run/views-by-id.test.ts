// Views gathered in stream order come back in segment-id order, and sorted packed ids find every
// segment: the compact forms the runner and the write stage hold a million of.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ViewsById } from '../../../pipelines/run/views-by-id.ts';
import { IdColumn, IdIndex, SortedIds } from '../../../pipelines/sorted-ids.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('ViewsById', () => {
  it('hands sha256-id views back in id order, ids that share their first bytes included', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => hex(`segment ${i}`));
    // Ids equal in their first six bytes: the order falls to the remaining bytes.
    ids.push(`${'ab'.repeat(6)}${'0'.repeat(52)}`, `${'ab'.repeat(6)}${'f'.repeat(52)}`, `${'ab'.repeat(6)}${'7'.repeat(52)}`);
    const views = new ViewsById<{ id: string }>();
    for (const id of ids) views.add(id, { id });
    expect(views.length).toBe(ids.length);
    expect(views.sorted().map((v) => v.id)).toEqual([...ids].sort(byText));
  });

  it('falls back to string order when an id is not sha256 hex, whenever it arrives', () => {
    const ids = [hex('a'), hex('b'), 'segment-7', hex('c'), 'Segment-1'];
    const views = new ViewsById<string>();
    for (const id of ids) views.add(id, id);
    expect(views.sorted()).toEqual([...ids].sort(byText));
  });

  it('hands the ids over beside the views, packed, for views that do not hold their ids', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => hex(`segment ${i}`));
    // One shared view object per label: the views carry no id, the ids come back beside them.
    const label = ids.map((_, i) => ['happy', 'sad', 'neutral'][i % 3]);
    const shared = new Map(['happy', 'sad', 'neutral'].map((l) => [l, { label: l }]));
    const views = new ViewsById<{ label: string }>();
    ids.forEach((id, i) => views.add(id, shared.get(label[i])!));
    const { ids: sortedIds, views: sorted } = views.sortedWithIds();
    const expected = ids.map((id, i) => ({ id, label: label[i] })).sort((a, b) => byText(a.id, b.id));
    expect(sortedIds.length).toBe(ids.length);
    expect(expected.map((_, i) => sortedIds.idAt(i))).toEqual(expected.map((e) => e.id));
    expect(sorted.map((v) => v.label)).toEqual(expected.map((e) => e.label));
    expect(expected.every((e, i) => sortedIds.indexOf(e.id) === i)).toBe(true);
    expect(views.length).toBe(0);

    // Ids that are not sha256 hex come back as strings, in the same order.
    const arrived = ['b', hex('x'), 'a'];
    const loose = new ViewsById<number>();
    arrived.forEach((id, i) => loose.add(id, i));
    const taken = loose.sortedWithIds();
    const order = [...arrived].sort(byText);
    expect([0, 1, 2].map((i) => taken.ids.idAt(i))).toEqual(order);
    expect(taken.views).toEqual(order.map((id) => arrived.indexOf(id)));
    expect(() => taken.ids.idAt(3)).toThrow(RangeError);
  });
});

describe('SortedIds', () => {
  it('finds the position of every id and -1 for ids it does not hold', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => hex(`segment ${i}`)).sort(byText);
    const sorted = new SortedIds(ids);
    ids.forEach((id, i) => expect(sorted.indexOf(id)).toBe(i));
    expect(sorted.indexOf(hex('not there'))).toBe(-1);
    expect(sorted.indexOf('not hex')).toBe(-1);
    const loose = new SortedIds(['a', 'b', 'c']);
    expect(['a', 'b', 'c', 'd'].map((id) => loose.indexOf(id))).toEqual([0, 1, 2, -1]);
  });

  it('refuses ids out of order', () => {
    expect(() => new SortedIds([hex('b'), hex('a')].sort(byText).reverse())).toThrow(/ascending/);
  });
});

describe('IdIndex', () => {
  it('gives each id the index it was first added at, through table growth, ids sharing their first bytes included', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => hex(`clip ${i}`));
    // Equal first four bytes (the table's hash): they probe past each other.
    ids.push(`${'cd'.repeat(4)}${'0'.repeat(56)}`, `${'cd'.repeat(4)}${'1'.repeat(56)}`, `${'cd'.repeat(4)}${'2'.repeat(56)}`);
    const index = new IdIndex();
    ids.forEach((id, i) => expect(index.add(id)).toEqual({ index: i, added: true }));
    // Again, in another order: found, not added.
    [...ids].reverse().forEach((id, k) => expect(index.add(id)).toEqual({ index: ids.length - 1 - k, added: false }));
    expect(index.length).toBe(ids.length);
    expect(index.at(7)).toBe(ids[7]);
  });

  it('keeps every index when an id that is not sha256 hex arrives', () => {
    const index = new IdIndex();
    const ids = [hex('a'), hex('b'), 'clip-c', hex('d'), 'clip-e'];
    ids.forEach((id, i) => expect(index.add(id).index).toBe(i));
    ids.forEach((id, i) => expect(index.add(id)).toEqual({ index: i, added: false }));
    expect(ids.map((_, i) => index.at(i))).toEqual(ids);
  });
});

describe('IdColumn', () => {
  it('sets, reads and sorts ids, packed or as strings', () => {
    const column = new IdColumn();
    const ids = Array.from({ length: 3000 }, (_, i) => hex(`segment ${i}`));
    ids.forEach((id) => column.push(id));
    column.set(5, hex('replaced'));
    ids[5] = hex('replaced');
    expect(column.isPacked).toBe(true);
    expect(ids.every((id, i) => column.at(i) === id)).toBe(true);
    const order = column.order();
    const sorted = column.sortedIds(order);
    expect(Array.from(order, (i) => ids[i])).toEqual([...ids].sort(byText));
    expect(sorted.idAt(0)).toBe([...ids].sort(byText)[0]);
    column.set(6, 'not hex');
    ids[6] = 'not hex';
    expect(column.isPacked).toBe(false);
    expect(ids.every((id, i) => column.at(i) === id)).toBe(true);
    expect(Array.from(column.order(), (i) => ids[i])).toEqual([...ids].sort(byText));
  });
});
