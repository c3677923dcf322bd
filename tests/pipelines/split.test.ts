import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../pipelines/fingerprint.ts';
import { assignSplits, groupOf } from '../../pipelines/split.ts';
import type { Segment } from '../../schemas/records.ts';

function segment(i: number, speaker?: string, group?: string): Segment {
  const clipId = fingerprint('clip', i);
  return {
    id: fingerprint('segment', i),
    clipId,
    clip: { id: clipId, uri: `c${i}.mp4`, name: `c${i}`, bytes: 1, partition: 0, manifest: { speaker, group }, probe: { duration: 3, formatName: 'mp4', hasAudio: true, hasVideo: true } },
    index: 0,
    start: 0,
    end: 3,
  };
}

describe('speaker-disjoint splits', () => {
  // 60 speakers with 1–9 segments each, plus unlabelled clips that group by themselves.
  const segments: Segment[] = [];
  for (let s = 0; s < 60; s++) for (let k = 0; k < 1 + ((s * 7) % 9); k++) segments.push(segment(s * 100 + k, `spk${s}`));
  for (let i = 0; i < 20; i++) segments.push(segment(90_000 + i));

  it('never lets a speaker straddle splits, fills every split near its share, and is deterministic', () => {
    const splits = assignSplits(segments, { train: 0.8, val: 0.1, test: 0.1 }, 'seed-a');
    const bySpeaker = new Map<string, Set<string>>();
    for (const s of segments) {
      const set = bySpeaker.get(groupOf(s)) ?? new Set();
      set.add(splits.get(s.id)!);
      bySpeaker.set(groupOf(s), set);
    }
    for (const set of bySpeaker.values()) expect(set.size).toBe(1);
    const counts = { train: 0, val: 0, test: 0 };
    for (const s of segments) counts[splits.get(s.id)!]++;
    const total = segments.length;
    expect(counts.train / total).toBeGreaterThan(0.72);
    expect(counts.val / total).toBeGreaterThan(0.06);
    expect(counts.test / total).toBeGreaterThan(0.06);
    expect(assignSplits(segments, { train: 0.8, val: 0.1, test: 0.1 }, 'seed-a')).toEqual(splits);
    expect(assignSplits(segments, { train: 0.8, val: 0.1, test: 0.1 }, 'seed-b')).not.toEqual(splits);
  });

  it('groups by manifest group, then by clip, when there is no speaker', () => {
    expect(groupOf(segment(1, undefined, 'video-7'))).toBe('group:video-7');
    expect(groupOf(segment(2))).toBe(`clip:${fingerprint('clip', 2)}`);
  });

  it('gives val and test a group each even with only three speakers', () => {
    const few = [segment(1, 'a'), segment(2, 'a'), segment(3, 'b'), segment(4, 'c')];
    expect(new Set(assignSplits(few, { train: 0.8, val: 0.1, test: 0.1 }, 'x').values())).toEqual(new Set(['train', 'val', 'test']));
  });
});
