// Views gathered in stream order come back in segment-id order, and sorted packed ids find every
// segment: the compact forms the runner and the write stage hold a million of.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ViewsById } from '../../../pipelines/run/views-by-id.ts';
import { SortedIds } from '../../../pipelines/sorted-ids.ts';

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
