// Histogram bins of the audit report over a corpus-sized series (the scale bench's 100,000 segments
// once overflowed the call stack here).
import { describe, expect, it } from 'vitest';
import { binValues } from '../../../pipelines/audit/svg.ts';

describe('binValues', () => {
  it('bins 300,000 values between their own min and max', () => {
    const values = Array.from({ length: 300_000 }, (_, i) => 2 + (i % 1000) / 100);
    const bins = binValues([values, values.slice(0, 1000)], 12);
    expect(bins).toHaveLength(12);
    expect(bins[0].from).toBe(2);
    expect(bins.at(-1)!.to).toBeCloseTo(11.99, 10);
    expect(bins.reduce((n, b) => n + b.counts[0], 0)).toBe(300_000);
    expect(bins.reduce((n, b) => n + b.counts[1], 0)).toBe(1000);
  });

  it('bins weighted values (each distinct value with its count) as it bins the same values listed', () => {
    const counts = new Map([
      [-1, 3],
      [-0.2, 5],
      [0, 2],
      [0.37, 4],
      [1, 6],
      [Number.NaN, 2],
    ]);
    const listed = [...counts].flatMap(([value, n]) => Array.from({ length: n }, () => value));
    const weighted = { length: listed.length, forEachValue: (visit: (value: number, count: number) => void) => counts.forEach((n, value) => visit(value, n)) };
    for (const domain of [undefined, [-1, 1] as const, [0, 0.5] as const]) {
      expect(binValues([weighted, listed.slice(0, 7)], 10, domain)).toEqual(binValues([listed, listed.slice(0, 7)], 10, domain));
    }
    expect(binValues([weighted], 4).reduce((n, b) => n + b.counts[0], 0)).toBe(20);
    expect(binValues([{ length: 0, forEachValue: () => {} }], 4)).toEqual([]);
  });
});
