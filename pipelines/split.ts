// Group-disjoint splits: every segment of a group (a speaker, or else the source clip) lands in one
// split, so no speaker straddles train/val/test. Groups are visited in an order fixed by a hash of
// (seed, group) and each goes to the split furthest below its target share, which keeps val and
// test non-empty whenever there are at least as many groups as splits with a share.
import { fingerprint } from './fingerprint.ts';
import type { Segment } from '../schemas/records.ts';
import type { Split } from '../schemas/sample.ts';

export interface SplitShares {
  readonly train: number;
  readonly val: number;
  readonly test: number;
}

/** The group a segment belongs to: its speaker, else its manifest group, else its clip. */
export function groupOf(segment: Segment): string {
  const { speaker, group } = segment.clip.manifest;
  if (speaker) return `speaker:${speaker}`;
  if (group) return `group:${group}`;
  return `clip:${segment.clipId}`;
}

export function assignSplits(segments: readonly Segment[], shares: SplitShares, seed: string): Map<string, Split> {
  const sizes = new Map<string, number>();
  for (const s of segments) sizes.set(groupOf(s), (sizes.get(groupOf(s)) ?? 0) + 1);
  const order = [...sizes.keys()].sort((a, b) => {
    const ha = fingerprint(seed, a);
    const hb = fingerprint(seed, b);
    return ha < hb ? -1 : ha > hb ? 1 : 0;
  });
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const weight = shares.train + shares.val + shares.test;
  const filled: Record<Split, number> = { train: 0, val: 0, test: 0 };
  const byGroup = new Map<string, Split>();
  // An empty split outranks any partly filled one, so a handful of groups still fills val and test.
  const priority: Split[] = ['val', 'test', 'train'];
  for (const group of order) {
    const size = sizes.get(group)!;
    let best: Split = 'train';
    let bestDeficit = -Infinity;
    for (const name of priority) {
      if (shares[name] <= 0) continue;
      const target = (shares[name] / weight) * total;
      const deficit = filled[name] === 0 ? target + total : target - filled[name];
      if (deficit > bestDeficit) [best, bestDeficit] = [name, deficit];
    }
    filled[best] += size;
    byGroup.set(group, best);
  }
  const result = new Map<string, Split>();
  for (const s of segments) result.set(s.id, byGroup.get(groupOf(s))!);
  return result;
}
