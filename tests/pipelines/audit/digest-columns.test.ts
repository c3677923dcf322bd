// The digest's histogram series hold every value the report bins, whether they are counted (few
// distinct values) or packed (many), in any arrival order.
import { describe, expect, it } from 'vitest';
import { DigestBuilder } from '../../../pipelines/audit/digest.ts';
import { mulberry32 } from '../../../pipelines/random.ts';
import type { Segment } from '../../../schemas/records.ts';

function kept(i: number, duration: number, judge: number, clip = 'c'.repeat(64), licence?: string, id = i.toString(16).padStart(64, '0')): Segment {
  return {
    id,
    clipId: clip,
    clip: { id: clip, uri: 'a.mp4', name: 'a', bytes: 1, probe: { duration: 10 }, manifest: licence ? { licence } : {}, partition: 0 },
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
    const sorted = (values: Iterable<number>) => [...values].sort((a, b) => a - b);
    const forward = digestOf(segments);
    const backward = digestOf([...segments].reverse());
    const durations = sorted(segments.map((s) => s.end - s.start));
    expect(sorted(forward.durations.after)).toEqual(durations);
    expect(sorted(backward.durations.after)).toEqual(durations);
    const judge = (d: typeof forward) => [...d.scores.find((s) => s.name === 'judge score')!.values];
    expect(judge(forward)).toEqual(sorted(segments.map((s) => s.judge!.score)));
    expect(judge(backward)).toEqual(judge(forward));
  });

  it('counts each clip once, under the licence of its segment with the largest id, in any order', () => {
    const hexId = (n: number) => n.toString(16).padStart(64, '0');
    // Clip a: its largest id (0x30) names MIT; clip b: CC BY 4.0 only; clip c: none given.
    const segments = [
      kept(1, 1, 5, 'a', 'CC BY 4.0', hexId(0x10)),
      kept(2, 1, 5, 'a', 'MIT', hexId(0x30)),
      kept(3, 1, 5, 'a', 'CC BY 4.0', hexId(0x20)),
      kept(4, 1, 5, 'b', 'CC BY 4.0', hexId(0x05)),
      kept(5, 1, 5, 'c', undefined, hexId(0x06)),
    ];
    const expected = [
      { licence: '(none given)', clips: 1 },
      { licence: 'CC BY 4.0', clips: 1 },
      { licence: 'MIT', clips: 1 },
    ];
    expect(digestOf(segments).licences).toEqual(expected);
    expect(digestOf([...segments].reverse()).licences).toEqual(expected);
    // Ids that are not sha256 hex, arriving after hex ones: compared as strings.
    const loose = [...segments, kept(6, 1, 5, 'b', 'MIT', 'z-not-hex')];
    expect(digestOf(loose).licences).toEqual([
      { licence: 'MIT', clips: 2 },
      { licence: '(none given)', clips: 1 },
    ]);
    expect(digestOf([...loose].reverse()).licences).toEqual(digestOf(loose).licences);
  });
});
