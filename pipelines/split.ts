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
  const groups = groupsInOrder(segments, (i) => segments[i].id, ties);
  return new Map(segments.map((s, i) => [s.id, groups[i]]));
}

/** What the splits read of a segment besides its id: its group keys and primary label. */
export type SplitPlace = Pick<SplitMember, 'keys' | 'label'>;

/**
 * splitGroups as an array beside `segments` (no map keyed by segment id: a million ids are a lot of
 * memory); `idOf(i)` is the id of segment i, asked for only when there are ties.
 */
function groupsInOrder(segments: readonly SplitPlace[], idOf: (index: number) => string, ties?: ReadonlyMap<string, string>): string[] {
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.get(root) !== root) root = parent.get(root)!;
    // Path compression: later finds are near constant time.
    for (let k = key; k !== root; ) {
      const next = parent.get(k)!;
      parent.set(k, root);
      k = next;
    }
    return root;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    // The smaller key is the root, so a group's name does not depend on input order.
    // biome-ignore lint/complexity/useMathMinMax: the keys are strings; Math.min would compare NaNs
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  segments.forEach((segment, i) => {
    const tie = ties?.size ? ties.get(idOf(i)) : undefined;
    const keys = tie === undefined ? segment.keys : [...segment.keys, tie];
    for (const key of keys) if (!parent.has(key)) parent.set(key, key);
    for (const key of keys.slice(1)) union(keys[0], key);
  });
  return segments.map((s) => find(s.keys[0]));
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
  const splits = assignSplitsInOrder(segments, (i) => segments[i].id, shares, seed, pinned, ties);
  return new Map(segments.map((s, i) => [s.id, splits[i]]));
}

/**
 * assignSplits as an array beside `segments`: each one's split. The segments need not carry their
 * ids: `idOf(i)` gives segment i's, asked for only when there are pinned segments or ties.
 */
export function assignSplitsInOrder(
  segments: readonly SplitPlace[],
  idOf: (index: number) => string,
  shares: SplitShares,
  seed: string,
  pinned?: ReadonlyMap<string, Split>,
  ties?: ReadonlyMap<string, string>,
): Split[] {
  const groups = groupsInOrder(segments, idOf, ties);
  // Each group's pinned split: the one most of its pinned segments had (ties: SPLITS order).
  const pinOf = new Map<string, Split>();
  if (pinned?.size) {
    const votes = new Map<string, Map<Split, number>>();
    for (let i = 0; i < segments.length; i++) {
      const split = pinned.get(idOf(i));
      if (!split) continue;
      const group = groups[i];
      const tally = votes.get(group) ?? new Map<Split, number>();
      tally.set(split, (tally.get(split) ?? 0) + 1);
      votes.set(group, tally);
    }
    for (const [group, tally] of votes)
      pinOf.set(
        group,
        SPLITS.reduce((best, split) => ((tally.get(split) ?? 0) > (tally.get(best) ?? 0) ? split : best), SPLITS[0]),
      );
  }
  const labelNames = [...new Set(segments.map(labelOf))].sort();
  const labelIndex = new Map(labelNames.map((label, i) => [label, i]));
  const L = labelNames.length;
  // A group's label counts; the last slot is its size.
  const counts = new Map<string, Float64Array>();
  const corpus = new Float64Array(L + 1);
  for (const [i, segment] of segments.entries()) {
    const group = groups[i];
    const vector = counts.get(group) ?? new Float64Array(L + 1);
    for (const v of [vector, corpus]) {
      v[labelIndex.get(labelOf(segment))!]++;
      v[L]++;
    }
    counts.set(group, vector);
  }
  const hashed = new Map([...counts.keys()].map((group) => [group, fingerprint(seed, group)]));
  const order = [...counts.keys()].sort((a, b) => counts.get(b)![L] - counts.get(a)![L] || (hashed.get(a)! < hashed.get(b)! ? -1 : 1));

  const weight = shares.train + shares.validation + shares.test;
  const open = SPLITS.filter((split) => shares[split] > 0);
  const targets = new Map(SPLITS.map((split) => [split, corpus.map((n) => (shares[split] / weight) * n)]));
  const filled = new Map(SPLITS.map((split) => [split, new Float64Array(L + 1)]));
  const byGroup = new Map<string, Split>();

  /**
   * How much the split's squared distance from its targets (per-label counts and size) changes when
   * group `add` joins it and group `remove` leaves it (either may be absent).
   */
  const delta = (split: Split, add?: string, remove?: string): number => {
    const [state, target] = [filled.get(split)!, targets.get(split)!];
    const [plus, minus] = [add ? counts.get(add)! : undefined, remove ? counts.get(remove)! : undefined];
    let sum = 0;
    for (let i = 0; i <= L; i++) {
      const change = (plus?.[i] ?? 0) - (minus?.[i] ?? 0);
      if (change !== 0) sum += change * (2 * (state[i] - target[i]) + change);
    }
    return sum;
  };
  const move = (group: string, to: Split) => {
    const vector = counts.get(group)!;
    const from = byGroup.get(group);
    for (let i = 0; i <= L; i++) {
      if (from) filled.get(from)![i] -= vector[i];
      filled.get(to)![i] += vector[i];
    }
    byGroup.set(group, to);
  };

  // 0. Pinned groups stay where the previous version had them.
  for (const group of order) {
    const pin = pinOf.get(group);
    if (pin) move(group, pin);
  }
  const free = order.filter((group) => !pinOf.has(group));

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
          const [a, b] = [byGroup.get(g)!, byGroup.get(h)!];
          // Each swap once (g in the earlier split), and never one that would empty a split.
          if (SPLITS.indexOf(a) >= SPLITS.indexOf(b)) continue;
          if (filled.get(a)![L] - counts.get(g)![L] + counts.get(h)![L] === 0 || filled.get(b)![L] - counts.get(h)![L] + counts.get(g)![L] === 0) continue;
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
  return groups.map((group) => byGroup.get(group)!);
}
