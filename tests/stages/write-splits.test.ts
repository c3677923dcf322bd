// The write stage's split plan around a corpus's official splits: official segments keep theirs, and
// only the others are placed, each under its own id.
import { describe, expect, it } from 'vitest';
import { SPLITS, type Split } from '../../schemas/sample.ts';
import { officialThenPlaced } from '../../stages/write.ts';

describe('officialThenPlaced', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];

  it('keeps official splits and places the rest, given only those views and their ids', () => {
    const views: { official?: Split }[] = [{ official: 'test' }, {}, { official: 'train' }, {}, {}];
    const asked: string[][] = [];
    const codes = officialThenPlaced(
      views,
      (i) => ids[i],
      (some, idOf) => {
        expect(some.every((v) => v.official === undefined)).toBe(true);
        asked.push(some.map((_, k) => idOf(k)));
        return Uint8Array.from(some, (_, k) => k % SPLITS.length);
      },
    );
    expect(asked).toEqual([['b', 'd', 'e']]);
    expect([...codes].map((c) => SPLITS[c])).toEqual(['test', 'train', 'train', 'validation', 'test']);
  });

  it("is the placement's own codes when no segment has an official split, and asks nothing when all have", () => {
    const own = Uint8Array.of(2, 1);
    expect(
      officialThenPlaced(
        [{}, {}],
        (i) => ids[i],
        () => own,
      ),
    ).toBe(own);
    const asked: number[] = [];
    const codes = officialThenPlaced(
      [{ official: 'validation' as Split }],
      (i) => ids[i],
      (some) => {
        asked.push(some.length);
        return new Uint8Array(some.length);
      },
    );
    expect([...codes].map((c) => SPLITS[c])).toEqual(['validation']);
    expect(asked).toEqual([0]);
  });
});
