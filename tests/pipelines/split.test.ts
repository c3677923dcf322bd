import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../pipelines/fingerprint.ts';
import { assignSplits, splitGroups } from '../../pipelines/split.ts';
import type { Emotion } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { SPLITS, type Split } from '../../schemas/sample.ts';

interface Spec {
  readonly i: number;
  readonly speaker?: string;
  readonly group?: string;
  /** segments of one multi-speaker clip share this */
  readonly clip?: string;
  readonly label?: Emotion;
}

function segment({ i, speaker, group, clip, label }: Spec): Segment {
  const clipId = fingerprint('clip', clip ?? i);
  return {
    id: fingerprint('segment', i),
    clipId,
    clip: {
      id: clipId,
      uri: `c${i}.mp4`,
      name: `c${i}`,
      bytes: 1,
      partition: 0,
      manifest: { speaker, group },
      probe: { duration: 3, formatName: 'mp4', hasAudio: true, hasVideo: true },
    },
    index: 0,
    start: 0,
    end: 3,
    ...(label
      ? {
          labels: {
            primary: label,
            openset: [label],
            sentiment: 'neutral',
            valence: 0,
            arousal: 0,
            provenance: { teacher: 'rules', model: 'rules-v3', template: 'labels.rules@1' },
          },
        }
      : {}),
  };
}

/** A deterministic number in [0, 1) from a key. */
function unit(key: string): number {
  return parseInt(fingerprint(key).slice(0, 8), 16) / 2 ** 32;
}

// Skewed labels: happy 35%, neutral 25%, sad 15%, angry 12%, surprised 8%, fearful 5%.
const SKEW: readonly [Emotion, number][] = [
  ['happy', 0.35],
  ['neutral', 0.25],
  ['sad', 0.15],
  ['angry', 0.12],
  ['surprised', 0.08],
  ['fearful', 0.05],
];
function skewedLabel(key: string): Emotion {
  let u = unit(key);
  for (const [label, share] of SKEW) if ((u -= share) < 0) return label;
  return 'happy';
}

/**
 * 60 speakers with 1–9 segments each (300 in all), each speaker in two source videos of their own;
 * every tenth speaker also appears in the next speaker's first video, and a few two-person clips
 * hold segments of speakers s and s+2 (tied by the clip itself). Half of a speaker's segments carry
 * the speaker's own leaning emotion, so labels cluster by group as they do in real corpora.
 */
function corpus(): { specs: Spec[]; segments: Segment[] } {
  const specs: Spec[] = [];
  let i = 0;
  for (let s = 0; s < 60; s++) {
    const leaning = skewedLabel(`speaker-${s}`);
    for (let k = 0; k < 1 + ((s * 7) % 9); k++) {
      const video = s % 10 === 0 && k === 0 ? `v${s + 1}-0` : `v${s}-${k % 2}`;
      const clip = s % 15 === 7 && k === 0 ? `two-person-${s}` : s % 15 === 9 && k === 0 ? `two-person-${s - 2}` : undefined;
      const label = k % 2 === 0 ? leaning : skewedLabel(`segment-${i}`);
      specs.push({ i: i++, speaker: `spk${s}`, group: clip ? undefined : video, clip, label });
    }
  }
  return { specs, segments: specs.map(segment) };
}

/** The largest gap between a split's label share and the corpus's, and in segments from share × label count. */
function worstLabelGap(segments: readonly Segment[], splits: Map<string, Split>, shares: Record<Split, number>): { share: number; segments: number } {
  const corpusCounts = new Map<string, number>();
  for (const s of segments) corpusCounts.set(s.labels!.primary, (corpusCounts.get(s.labels!.primary) ?? 0) + 1);
  let worst = { share: 0, segments: 0 };
  for (const split of SPLITS) {
    const members = segments.filter((s) => splits.get(s.id) === split);
    for (const [label, n] of corpusCounts) {
      const count = members.filter((s) => s.labels!.primary === label).length;
      worst = {
        share: Math.max(worst.share, Math.abs(count / members.length - n / segments.length)),
        segments: Math.max(worst.segments, Math.abs(count - shares[split] * n)),
      };
    }
  }
  return worst;
}

describe('group-disjoint, label-stratified splits', () => {
  const { specs, segments } = corpus();
  const shares = { train: 0.8, validation: 0.1, test: 0.1 };

  it('never lets a speaker, a source video or a clip straddle splits', () => {
    expect(segments).toHaveLength(300);
    const splits = assignSplits(segments, shares, 'seed-a');
    const seen = new Map<string, Set<Split>>();
    specs.forEach((spec, n) => {
      const keys = [`speaker:${spec.speaker}`, `clip:${segments[n].clipId}`, ...(spec.group ? [`group:${spec.group}`] : [])];
      for (const key of keys) seen.set(key, (seen.get(key) ?? new Set()).add(splits.get(segments[n].id)!));
    });
    const straddling = [...seen].filter(([, set]) => set.size > 1).map(([key]) => key);
    expect(straddling).toEqual([]);
    // The planted ties really join groups: spk0 shares video v1-0 with spk1; spk7 and spk9 share a clip.
    const groups = splitGroups(segments);
    const groupOfSpeaker = (s: number) => groups.get(segments[specs.findIndex((spec) => spec.speaker === `spk${s}`)].id);
    expect(groupOfSpeaker(0)).toBe(groupOfSpeaker(1));
    expect(groupOfSpeaker(7)).toBe(groupOfSpeaker(9));
    expect(groupOfSpeaker(2)).not.toBe(groupOfSpeaker(3));
  });

  it('fills every split near its share and keeps label proportions near the corpus, better than ignoring labels', () => {
    const splits = assignSplits(segments, shares, 'seed-a');
    const counts = { train: 0, validation: 0, test: 0 };
    for (const s of segments) counts[splits.get(s.id)!]++;
    for (const split of SPLITS) expect(Math.abs(counts[split] / segments.length - shares[split])).toBeLessThanOrEqual(0.02);

    const stratified = worstLabelGap(segments, splits, shares);
    // The same corpus with its labels hidden: placement then only balances sizes.
    const unlabelled = segments.map(({ labels: _labels, ...rest }) => rest);
    const blind = worstLabelGap(segments, assignSplits(unlabelled, shares, 'seed-a'), shares);
    console.info(
      `splits ${JSON.stringify(counts)} over ${new Set(splitGroups(segments).values()).size} groups; worst label gap ` +
        `${stratified.share.toFixed(3)} of a split (${stratified.segments.toFixed(1)} segments) stratified, ` +
        `${blind.share.toFixed(3)} (${blind.segments.toFixed(1)} segments) ignoring labels`,
    );
    // Within two segments of share × count for every split and label: as close as ~6-segment groups allow.
    expect(stratified.segments).toBeLessThanOrEqual(2);
    expect(stratified.share).toBeLessThan(blind.share / 2);
  });

  it('is deterministic given the seed, whatever order the segments come in', () => {
    const splits = assignSplits(segments, shares, 'seed-a');
    expect(assignSplits([...segments].reverse(), shares, 'seed-a')).toEqual(splits);
    expect(assignSplits(segments, shares, 'seed-b')).not.toEqual(splits);
    expect(splitGroups([...segments].reverse())).toEqual(splitGroups(segments));
  });

  it('names a group by its smallest key, whichever segment joined its parts', () => {
    // Sources d, c, b, a chained by speakers: one group, called group:a in any order.
    const chain = [
      segment({ i: 1, group: 'd', speaker: 'x' }),
      segment({ i: 2, group: 'c', speaker: 'y' }),
      segment({ i: 3, group: 'b', speaker: 'x' }),
      segment({ i: 4, group: 'a', speaker: 'y' }),
      segment({ i: 5, group: 'c', speaker: 'x' }),
      segment({ i: 6, group: 'e' }),
    ];
    for (const order of [chain, [...chain].reverse(), [chain[4], chain[0], chain[5], chain[3], chain[1], chain[2]]]) {
      const groups = splitGroups(order);
      expect(chain.slice(0, 5).map((s) => groups.get(s.id))).toEqual(Array(5).fill('group:a'));
      expect(groups.get(chain[5].id)).toBe('group:e');
    }
  });

  it('groups a segment without speaker or group by its clip', () => {
    const alone = [segment({ i: 1 }), segment({ i: 2, clip: 'shared' }), segment({ i: 3, clip: 'shared' })];
    const groups = splitGroups(alone);
    expect(groups.get(alone[0].id)).toBe(`clip:${fingerprint('clip', 1)}`);
    expect(groups.get(alone[1].id)).toBe(groups.get(alone[2].id));
  });

  it('keeps pinned segments (the previous version) in their split when new groups arrive, and places only the new ones', () => {
    // The previous version: the first 200 segments; then 100 more arrive, some of old speakers.
    const before = segments.slice(0, 200);
    const previous = assignSplits(before, shares, 'seed-a');
    const unpinned = assignSplits(segments, shares, 'seed-a');
    const moved = before.filter((s) => unpinned.get(s.id) !== previous.get(s.id)).length;
    const pinnedRun = assignSplits(segments, shares, 'seed-a', previous);
    expect(before.filter((s) => pinnedRun.get(s.id) !== previous.get(s.id))).toEqual([]);
    // Without pins the greedy placement reshuffles old groups, which is what pins prevent.
    expect(moved).toBeGreaterThan(0);
    // Still group-disjoint: a new segment of an old speaker follows that speaker's split.
    const groups = splitGroups(segments);
    const splitOfGroup = new Map<string, Set<Split>>();
    for (const s of segments) splitOfGroup.set(groups.get(s.id)!, (splitOfGroup.get(groups.get(s.id)!) ?? new Set()).add(pinnedRun.get(s.id)!));
    expect([...splitOfGroup.values()].filter((set) => set.size > 1)).toEqual([]);
    // And the new groups fill the splits toward their shares.
    const counts = { train: 0, validation: 0, test: 0 };
    for (const s of segments) counts[pinnedRun.get(s.id)!]++;
    for (const split of SPLITS) expect(Math.abs(counts[split] / segments.length - shares[split])).toBeLessThanOrEqual(0.05);
  });

  it('gives validation and test a group each even with only three speakers', () => {
    const few = [segment({ i: 1, speaker: 'a' }), segment({ i: 2, speaker: 'a' }), segment({ i: 3, speaker: 'b' }), segment({ i: 4, speaker: 'c' })];
    expect(new Set(assignSplits(few, shares, 'x').values())).toEqual(new Set(['train', 'validation', 'test']));
  });

  it('keeps segments tied by footage in one split, like a shared speaker', () => {
    const segments = Array.from({ length: 30 }, (_, i) => segment({ i, speaker: `s${i}` }));
    const untied = assignSplits(segments, shares, 'tie-seed');
    // Tie a train segment to a test one and a validation one: apart without the tie, together with it.
    const pick = (split: string) => segments.find((s) => untied.get(s.id) === split)!;
    const trio = [pick('train'), pick('test'), pick('validation')];
    const ties = new Map(trio.map((s) => [s.id, 'footage:a'] as [string, string]));
    const tied = assignSplits(segments, shares, 'tie-seed', undefined, ties);
    expect(new Set(trio.map((s) => tied.get(s.id))).size).toBe(1);
  });
});
