// The digest's histogram series hold every value the report bins, whether they are counted (few
// distinct values) or packed (many), in any arrival order.
import { describe, expect, it } from 'vitest';
import { DigestBuilder } from '../../../pipelines/audit/digest.ts';
import { mulberry32 } from '../../../pipelines/random.ts';
import type { Segment } from '../../../schemas/records.ts';

function kept(i: number, duration: number, judge: number): Segment {
  return {
    id: i.toString(16).padStart(64, '0'),
    clipId: 'c'.repeat(64),
    clip: { id: 'c'.repeat(64), uri: 'a.mp4', name: 'a', bytes: 1, probe: { duration: 10 }, manifest: {}, partition: 0 },
    index: i,
    start: 1,
    end: 1 + duration,
    judge: { score: judge, reason: 'r', provenance: { teacher: 'rules', model: 'm', template: 't' } },
  } as unknown as Segment;
}

const digestOf = (segments: readonly Segment[]) => {
  const builder = new DigestBuilder({ keepRows: false });
  for (const s of segments) builder.addKept(s, 'train', 1);
  return builder.digest({
    corpus: 'c',
    emoforge: 'x',
    configFingerprint: 'f',
    stages: [],
    stats: {},
    teacherUsage: {},
    sourcesSeen: segments.length,
    drops: [],
    shards: [],
    columns: [],
    previous: { kind: 'none' },
  } as never);
};

describe('digest histogram columns', () => {
  it('keeps every value, counted or packed, whatever the order', () => {
    const random = mulberry32(3);
    // 9,000 distinct durations (packed past 4,096 distinct values) and ten judge scores (counted).
    const segments = Array.from({ length: 9000 }, (_, i) => kept(i, 1 + i / 1000 + random() / 1e6, 1 + (i % 10)));
    const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
    const forward = digestOf(segments);
    const backward = digestOf([...segments].reverse());
    const durations = sorted(segments.map((s) => s.end - s.start));
    expect(sorted(forward.durations.after)).toEqual(durations);
    expect(sorted(backward.durations.after)).toEqual(durations);
    const judge = (d: typeof forward) => d.scores.find((s) => s.name === 'judge score')!.values;
    expect(judge(forward)).toEqual(sorted(segments.map((s) => s.judge!.score)));
    expect(judge(backward)).toEqual(judge(forward));
  });
});
