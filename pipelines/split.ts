// Group-disjoint, label-stratified splits. Two segments that share a speaker or a source video (the
// manifest `group`, else the clip itself) must land in the same split, so groups are the connected
// components of "shares a speaker or a source" (union-find over both keys): a speaker seen in two
// videos ties both videos' other speakers to it. Components are placed largest first (ties in an
// order fixed by a hash of the seed), each into the split where it brings the per-label counts and
// the split's size closest to their targets (share × corpus count), which keeps every split's label
// proportions near the corpus's as far as the groups allow. Validation and test get a component each
// whenever there are at least as many components as splits with a share.
// Refreshes pass the previous version's splits as `pinned` (segment id → split): a group holding a
// pinned segment stays in that split (the split most of its pinned segments had, when a new clip
// joins groups that were apart), so rows never move between train, validation and test across versions;
// only new groups are placed, by the same rule, around them.
import { fingerprint } from './fingerprint.ts';
import type { Segment } from '../schemas/records.ts';
import { SPLITS, type Split } from '../schemas/sample.ts';

export interface SplitShares {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

/** The keys that tie a segment to others: its source video (manifest group, else its clip) and its speaker. */
export function groupKeys(segment: Segment): string[] {
  const { speaker, group } = segment.clip.manifest;
  const keys = [group?.trim() ? `group:${group.trim()}` : `clip:${segment.clipId}`];
  if (speaker?.trim()) keys.push(`speaker:${speaker.trim()}`);
  return keys;
}

/** What the splits read of a segment: its id, group keys and primary label (a global step's compact view). */
export interface SplitMember {
  readonly id: string;
  /** groupKeys(segment): the source first, then the speaker. */
  readonly keys: readonly string[];
  readonly label: string;
}

export function splitMember(segment: Segment): SplitMember {
  return { id: segment.id, keys: groupKeys(segment), label: segment.labels?.primary ?? 'unlabelled' };
}

function membersOf(segments: readonly (Segment | SplitMember)[]): readonly SplitMember[] {
  return segments.map((s) => ('clip' in s ? splitMember(s) : s));
}

/**
 * Segment id → its group (a component of shared speakers and sources, and of `ties`: extra keys such
 * as a footage cluster, so the same footage never straddles splits), named by its smallest key.
 */
export function splitGroups(input: readonly (Segment | SplitMember)[], ties?: ReadonlyMap<string, string>): Map<string, string> {
  const segments = membersOf(input);
  const { of, names } = groupsInOrder(segments, (i) => segments[i].id, ties);
  return new Map(segments.map((s, i) => [s.id, names[of[i]]]));
}

/** What the splits read of a segment besides its id: its group keys and primary label. */
export type SplitPlace = Pick<SplitMember, 'keys' | 'label'>;

/** The groups as numbers: `of[i]` is segment i's group, `names[g]` the name of group g (its smallest key). */
interface Groups {
  readonly of: Int32Array;
  readonly names: readonly string[];
}

/**
 * splitGroups as numbers beside `segments` (no map keyed by segment id: a million ids are a lot of
 * memory); `idOf(i)` is the id of segment i, asked for only when there are ties. Each distinct key
 * becomes a number once and the union-find runs over numbers (by size, halving paths). With finds
 * over a Map of key strings, `scripts/bench/splits.ts` planned a million segments' splits in 3.0 s,
 * most of it in lookups that missed the cache; 1.1–1.7 s now (README, "Memory at scale").
 */
function groupsInOrder(segments: readonly SplitPlace[], idOf: (index: number) => string, ties?: ReadonlyMap<string, string>): Groups {
  const keyIds = new Map<string, number>();
  const keys: string[] = [];
  const parent: number[] = [];
  const size: number[] = [];
  /** The smallest key of each root's component (by string order): the group's name. */
  const smallest: number[] = [];
  const intern = (key: string): number => {
    let id = keyIds.get(key);
    if (id === undefined) {
      id = keys.length;
      keyIds.set(key, id);
      keys.push(key);
      parent.push(id);
      size.push(1);
      smallest.push(id);
    }
    return id;
  };
  const find = (id: number): number => {
    while (parent[id] !== id) {
      parent[id] = parent[parent[id]];
      id = parent[id];
    }
    return id;
  };
  const union = (a: number, b: number) => {
    let [ra, rb] = [find(a), find(b)];
    if (ra === rb) return;
    if (size[ra] < size[rb]) [ra, rb] = [rb, ra];
    parent[rb] = ra;
    size[ra] += size[rb];
    if (keys[smallest[rb]] < keys[smallest[ra]]) smallest[ra] = smallest[rb];
  };
  const of = new Int32Array(segments.length);
  for (let i = 0; i < segments.length; i++) {
    const segmentKeys = segments[i].keys;
    const first = intern(segmentKeys[0]);
    for (let k = 1; k < segmentKeys.length; k++) union(first, intern(segmentKeys[k]));
    const tie = ties?.size ? ties.get(idOf(i)) : undefined;
    if (tie !== undefined) union(first, intern(tie));
    of[i] = first;
  }
  // Key → group number, in the order the segments first reach each group.
  const groupOfRoot = new Int32Array(keys.length).fill(-1);
  const names: string[] = [];
  for (let i = 0; i < of.length; i++) {
    const root = find(of[i]);
    if (groupOfRoot[root] < 0) {
      groupOfRoot[root] = names.length;
      names.push(keys[smallest[root]]);
    }
    of[i] = groupOfRoot[root];
  }
  return { of, names };
}

function labelOf(segment: SplitPlace): string {
  return segment.label;
}

/** Groups up to which the swap pass runs (it tries every pair of groups in different splits). */
const MAX_SWAP_GROUPS = 2000;
const MAX_SWAP_ROUNDS = 10;

export function assignSplits(
  input: readonly (Segment | SplitMember)[],
  shares: SplitShares,
  seed: string,
  pinned?: ReadonlyMap<string, Split>,
  ties?: ReadonlyMap<string, string>,
): Map<string, Split> {
  const segments = membersOf(input);
  const codes = assignSplitCodes(segments, (i) => segments[i].id, shares, seed, pinned, ties);
  return new Map(segments.map((s, i) => [s.id, SPLITS[codes[i]]]));
}

/**
 * assignSplits as codes beside `segments`: each one's split as its index in SPLITS (a byte a
 * segment, where an array of names took eight). The segments need not carry their ids: `idOf(i)`
 * gives segment i's, asked for only when there are pinned segments or ties.
 */
export function assignSplitCodes(
  segments: readonly SplitPlace[],
  idOf: (index: number) => string,
  shares: SplitShares,
  seed: string,
  pinned?: ReadonlyMap<string, Split>,
  ties?: ReadonlyMap<string, string>,
): Uint8Array {
  const { of, names } = groupsInOrder(segments, idOf, ties);
  const G = names.length;
  // Each group's pinned split (an index in SPLITS, -1 for none): the one most of its pinned segments
  // had (ties: SPLITS order).
  const pinOf = new Int8Array(G).fill(-1);
  if (pinned?.size) {
    const votes = new Map<number, Map<Split, number>>();
    for (let i = 0; i < segments.length; i++) {
      const split = pinned.get(idOf(i));
      if (!split) continue;
      const tally = votes.get(of[i]) ?? new Map<Split, number>();
      tally.set(split, (tally.get(split) ?? 0) + 1);
      votes.set(of[i], tally);
    }
    for (const [group, tally] of votes)
      pinOf[group] = SPLITS.indexOf(SPLITS.reduce((best, split) => ((tally.get(split) ?? 0) > (tally.get(best) ?? 0) ? split : best), SPLITS[0]));
  }
  // Labels as numbers in sorted order.
  const firstSeen = new Map<string, number>();
  const labelOfSegment = new Int32Array(segments.length);
  for (let i = 0; i < segments.length; i++) {
    const label = labelOf(segments[i]);
    let id = firstSeen.get(label);
    if (id === undefined) firstSeen.set(label, (id = firstSeen.size));
    labelOfSegment[i] = id;
  }
  const labelNames = [...firstSeen.keys()].sort();
  const sortedIndex = new Int32Array(labelNames.length);
  labelNames.forEach((label, index) => {
    sortedIndex[firstSeen.get(label)!] = index;
  });
  const L = labelNames.length;
  const W = L + 1;
  // A group's label counts at counts[g * W …]; the last slot is its size.
  const counts = new Float64Array(G * W);
  const corpus = new Float64Array(W);
  for (let i = 0; i < segments.length; i++) {
    const label = sortedIndex[labelOfSegment[i]];
    counts[of[i] * W + label]++;
    counts[of[i] * W + L]++;
    corpus[label]++;
    corpus[L]++;
  }
  const sizeOf = (group: number) => counts[group * W + L];
  const hashed = names.map((name) => fingerprint(seed, name));
  const order = Array.from({ length: G }, (_, g) => g).sort((a, b) => sizeOf(b) - sizeOf(a) || (hashed[a] < hashed[b] ? -1 : 1));

  const weight = shares.train + shares.validation + shares.test;
  const open = SPLITS.filter((split) => shares[split] > 0);
  const targets = new Map(SPLITS.map((split) => [split, corpus.map((n) => (shares[split] / weight) * n)]));
  const filled = new Map(SPLITS.map((split) => [split, new Float64Array(W)]));
  /** Each group's split, an index in SPLITS (-1 until placed). */
  const byGroup = new Int8Array(G).fill(-1);

  /**
   * How much the split's squared distance from its targets (per-label counts and size) changes when
   * group `add` joins it and group `remove` leaves it (either may be -1: none).
   */
  const delta = (split: Split, add: number, remove = -1): number => {
    const [state, target] = [filled.get(split)!, targets.get(split)!];
    let sum = 0;
    for (let i = 0; i <= L; i++) {
      const change = (add >= 0 ? counts[add * W + i] : 0) - (remove >= 0 ? counts[remove * W + i] : 0);
      if (change !== 0) sum += change * (2 * (state[i] - target[i]) + change);
    }
    return sum;
  };
  const move = (group: number, to: Split) => {
    const from = byGroup[group] >= 0 ? filled.get(SPLITS[byGroup[group]])! : undefined;
    const into = filled.get(to)!;
    for (let i = 0; i <= L; i++) {
      if (from) from[i] -= counts[group * W + i];
      into[i] += counts[group * W + i];
    }
    byGroup[group] = SPLITS.indexOf(to);
  };

  // 0. Pinned groups stay where the previous version had them.
  for (const group of order) if (pinOf[group] >= 0) move(group, SPLITS[pinOf[group]]);
  const free = order.filter((group) => pinOf[group] < 0);

  // 1. Greedy: each group, largest first, where it brings its split closest to the targets.
  free.forEach((group, index) => {
    const empty = open.filter((split) => filled.get(split)![L] === 0);
    // The last groups go to empty splits while it still takes all of them to fill those.
    const candidates = empty.length > 0 && free.length - index <= empty.length ? empty : open;
    let best = candidates[0];
    for (const split of candidates.slice(1)) if (delta(split, group) < delta(best, group)) best = split;
    move(group, best);
  });

  // 2. Exchanges: the greedy pass has only small groups left to even out the small splits at the
  // end; swapping two groups between splits repairs what it could not. Quadratic in groups, so
  // only for corpora with few groups (with many small groups the greedy pass is already close).
  if (free.length <= MAX_SWAP_GROUPS) {
    for (let round = 0; round < MAX_SWAP_ROUNDS; round++) {
      let improved = false;
      for (const g of free) {
        for (const h of free) {
          // Each swap once (g in the earlier split), and never one that would empty a split.
          if (byGroup[g] >= byGroup[h]) continue;
          const [a, b] = [SPLITS[byGroup[g]], SPLITS[byGroup[h]]];
          if (filled.get(a)![L] - sizeOf(g) + sizeOf(h) === 0 || filled.get(b)![L] - sizeOf(h) + sizeOf(g) === 0) continue;
          if (delta(a, h, g) + delta(b, g, h) < -1e-9) {
            move(g, b);
            move(h, a);
            improved = true;
          }
        }
      }
      if (!improved) break;
    }
  }
  const codes = new Uint8Array(of.length);
  for (let i = 0; i < of.length; i++) codes[i] = byGroup[of[i]];
  return codes;
}
