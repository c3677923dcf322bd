// Exact and near-duplicate detection over texts: sha256 of normalised text for exact copies,
// MinHash signatures over word shingles with banded LSH for near copies, verified by estimated
// Jaccard and clustered with union-find. Pure JS on typed arrays; deterministic: documents are
// processed in id order, so the same documents in any order give the same clusters, and every
// cluster keeps its lowest id.
import { createHash } from 'node:crypto';

export interface MinHashOptions {
  /** Signature length (hash functions); more is a tighter Jaccard estimate, linearly slower. */
  readonly permutations: number;
  /** Words per shingle. */
  readonly shingle: number;
  /** LSH bands; permutations / bands rows each. */
  readonly bands: number;
  /** Estimated Jaccard at or above which two documents are near-duplicates, in (0, 1]. */
  readonly threshold: number;
}

/** One document: an id (the keep order) and its texts (fields), shingled separately. */
export interface DedupDocument {
  readonly id: string;
  readonly texts: readonly string[];
}

export type DedupVerdict =
  | { readonly kind: 'kept' }
  /** no words in any text: nothing to compare, kept */
  | { readonly kind: 'empty' }
  | { readonly kind: 'exact-duplicate'; readonly kept: number }
  /** `jaccard` is estimated against the kept document; `via` is the neighbour that linked it when that is not the kept one */
  | { readonly kind: 'near-duplicate'; readonly kept: number; readonly jaccard: number; readonly via?: { readonly index: number; readonly jaccard: number } };

export interface DedupReport {
  /** One verdict per input document, in input order; `kept` is an input index. */
  readonly verdicts: DedupVerdict[];
  readonly documents: number;
  readonly empty: number;
  /** documents dropped for having the kept document's normalised text */
  readonly exactDuplicates: number;
  /** distinct pairs that shared at least one LSH bucket */
  readonly candidatePairs: number;
  /** candidate pairs whose signatures were compared (the rest were already in one cluster) */
  readonly comparedPairs: number;
  /** compared pairs at or above the threshold */
  readonly similarPairs: number;
  /** documents dropped as near-duplicates of their kept document (exact copies of a near-duplicate included) */
  readonly nearDuplicates: number;
  /** clusters with more than one document (exact or near) */
  readonly clusters: number;
  /** the most documents one LSH bucket held (large buckets mean template-like text: pairs grow with its square) */
  readonly largestBucket: number;
  readonly timings: { readonly exactMs: number; readonly signaturesMs: number; readonly lshMs: number };
}

export function validateMinHashOptions(options: MinHashOptions): void {
  const { permutations, shingle, bands, threshold } = options;
  if (!Number.isSafeInteger(permutations) || permutations < 1) throw new RangeError(`permutations must be a positive integer, got ${permutations}`);
  if (!Number.isSafeInteger(shingle) || shingle < 1) throw new RangeError(`shingle must be a positive integer, got ${shingle}`);
  if (!Number.isSafeInteger(bands) || bands < 1 || permutations % bands !== 0)
    throw new RangeError(`bands must divide permutations (${permutations}), got ${bands}`);
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
}

/** Lower-case with whitespace runs collapsed to one space: what "the same text" means for exact duplicates. */
export function normaliseText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** sha256 hex of the normalised texts (field order matters; a separator keeps fields apart). */
export function exactKey(texts: readonly string[]): string {
  const hash = createHash('sha256');
  texts.forEach((text, i) => hash.update(i === 0 ? normaliseText(text) : `\u001f${normaliseText(text)}`));
  return hash.digest('hex');
}

// Words are letter/digit runs; inner dots, commas and apostrophes stay ("3.6", "don't").
const WORD = /[\p{L}\p{N}]+(?:[.,'’][\p{L}\p{N}]+)*/gu;
const HAS_WORD = /[\p{L}\p{N}]/u;

/** murmur3's finaliser: a bijection on 32 bits with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, then fmix32. */
function wordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/**
 * 32-bit hashes of every `size`-word shingle of each text (lower-cased), in order, repeats kept
 * (a minimum does not care). A text shorter than `size` words is one shingle; shingles never span
 * two texts.
 */
export function shingleHashes(texts: readonly string[], size: number): number[] {
  const out: number[] = [];
  const words: number[] = [];
  for (const text of texts) {
    words.length = 0;
    for (const match of text.toLowerCase().matchAll(WORD)) words.push(wordHash(match[0]));
    if (words.length === 0) continue;
    const last = Math.max(0, words.length - size);
    for (let start = 0; start <= last; start++) {
      let h = size;
      for (let k = start, end = Math.min(words.length, start + size); k < end; k++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ words[k]);
      out.push(h);
    }
  }
  return out;
}

/** Per-permutation seeds from splitmix32 with a fixed start: every run hashes alike. */
function permutationSeeds(count: number): Uint32Array {
  const seeds = new Uint32Array(count);
  let state = 0x5eed1e55;
  for (let i = 0; i < count; i++) {
    state = (state + 0x9e3779b9) | 0;
    seeds[i] = fmix32(state);
  }
  return seeds;
}

/**
 * Writes the MinHash signature of `shingles` into `out` at `offset`: for each permutation
 * i, min over shingles of fmix32(shingle ^ seed_i) (XOR then fmix32 is a permutation of the 32-bit
 * values). No shingles gives all 0xffffffff.
 */
export function minhashInto(shingles: readonly number[], seeds: Uint32Array, out: Uint32Array, offset: number): void {
  const p = seeds.length;
  out.fill(0xffffffff, offset, offset + p);
  for (let s = 0; s < shingles.length; s++) {
    const x = shingles[s];
    for (let i = 0; i < p; i++) {
      let h = x ^ seeds[i];
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      h >>>= 0;
      if (h < out[offset + i]) out[offset + i] = h;
    }
  }
}

/** A signature for texts alone (tests and one-off comparisons). */
export function signature(texts: readonly string[], options: Pick<MinHashOptions, 'permutations' | 'shingle'>): Uint32Array {
  const out = new Uint32Array(options.permutations);
  minhashInto(shingleHashes(texts, options.shingle), permutationSeeds(options.permutations), out, 0);
  return out;
}

/** Share of equal positions: an unbiased estimate of the Jaccard similarity of the shingle sets. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array, p = a.length, aOffset = 0, bOffset = 0): number {
  let equal = 0;
  for (let i = 0; i < p; i++) if (a[aOffset + i] === b[bOffset + i]) equal++;
  return equal / p;
}

/** Exact Jaccard of two shingle sets (for tests and the bench's ground truth). */
export function exactJaccard(texts: readonly string[], other: readonly string[], shingle: number): number {
  const a = new Set(shingleHashes(texts, shingle));
  const b = new Set(shingleHashes(other, shingle));
  if (a.size === 0 && b.size === 0) return 1;
  let both = 0;
  for (const h of a) if (b.has(h)) both++;
  return both / (a.size + b.size - both);
}

/** Union-find whose root is always the lowest member, so a cluster's root is the document it keeps. */
class LowestRootSets {
  private readonly parent: Int32Array;
  constructor(size: number) {
    this.parent = new Int32Array(size);
    for (let i = 0; i < size; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const parent = this.parent;
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }
}

/**
 * Finds exact and near-duplicates among `documents` and keeps the lowest id of each cluster.
 * Clusters are the connected components of "same normalised text" and "estimated Jaccard ≥
 * threshold among LSH candidates", so a chain a~b~c is one cluster even when a and c are further
 * apart (the verdict then names the neighbour that linked it).
 */
export function findDuplicates(documents: readonly DedupDocument[], options: MinHashOptions): DedupReport {
  validateMinHashOptions(options);
  const { permutations: p, shingle, bands, threshold } = options;
  const rows = p / bands;
  const n = documents.length;
  // Work in id order (input index breaks ties), so input order changes nothing.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const x = documents[a].id;
    const y = documents[b].id;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  const sets = new LowestRootSets(n);

  // 1. Exact duplicates; only the first of each normalised text gets a signature row.
  let started = performance.now();
  const firstByKey = new Map<string, number>();
  const row = new Int32Array(n).fill(-1);
  let empty = 0;
  let exactDuplicates = 0;
  let rowsUsed = 0;
  for (let rank = 0; rank < n; rank++) {
    const texts = documents[order[rank]].texts;
    if (!texts.some((text) => HAS_WORD.test(text))) {
      empty++;
      continue;
    }
    const key = exactKey(texts);
    const first = firstByKey.get(key);
    if (first !== undefined) {
      sets.union(first, rank);
      row[rank] = row[first];
      continue;
    }
    firstByKey.set(key, rank);
    row[rank] = rowsUsed++;
  }
  firstByKey.clear();
  const exactMs = performance.now() - started;

  // 2. Signatures, one Uint32Array for all (rows × p), and band hashes (rows × bands).
  started = performance.now();
  const seeds = permutationSeeds(p);
  const signatures = new Uint32Array(rowsUsed * p);
  const owner = new Int32Array(rowsUsed);
  for (let rank = 0, next = 0; rank < n; rank++) {
    if (row[rank] !== next) continue;
    minhashInto(shingleHashes(documents[order[rank]].texts, shingle), seeds, signatures, next * p);
    owner[next++] = rank;
  }
  const bandHashes = new Uint32Array(rowsUsed * bands);
  for (let r = 0; r < rowsUsed; r++) {
    for (let b = 0; b < bands; b++) {
      let h = b;
      const base = r * p + b * rows;
      for (let k = 0; k < rows; k++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ signatures[base + k]);
      bandHashes[r * bands + b] = h;
    }
  }
  const signaturesMs = performance.now() - started;

  // 3. LSH: per band, bucket rows by band hash (a Map of hash → last row, chained through `next`);
  // a pair is counted in the first band where it collides only. Pairs already in one cluster are not
  // compared again. Each row remembers the most similar neighbour it was verified against, to
  // explain chained clusters.
  started = performance.now();
  let candidatePairs = 0;
  let comparedPairs = 0;
  let similarPairs = 0;
  let largestBucket = 0;
  const minEqual = Math.ceil(threshold * p - 1e-9);
  const next = new Int32Array(rowsUsed);
  const neighbour = new Int32Array(rowsUsed).fill(-1);
  const neighbourEqual = new Int32Array(rowsUsed);
  const members: number[] = [];
  for (let b = 0; b < bands; b++) {
    const heads = new Map<number, number>();
    for (let r = 0; r < rowsUsed; r++) {
      const h = bandHashes[r * bands + b];
      const head = heads.get(h);
      next[r] = head === undefined ? -1 : head;
      heads.set(h, r);
    }
    for (const head of heads.values()) {
      if (next[head] === -1) continue;
      members.length = 0;
      for (let r = head; r !== -1; r = next[r]) members.push(r);
      if (members.length > largestBucket) largestBucket = members.length;
      for (let x = 0; x < members.length; x++) {
        const i = members[x];
        for (let y = x + 1; y < members.length; y++) {
          const j = members[y];
          let earlier = false;
          for (let c = 0; c < b && !earlier; c++) earlier = bandHashes[i * bands + c] === bandHashes[j * bands + c];
          if (earlier) continue;
          candidatePairs++;
          if (sets.find(owner[i]) === sets.find(owner[j])) continue;
          comparedPairs++;
          let equal = 0;
          for (let k = 0, bi = i * p, bj = j * p; k < p; k++) if (signatures[bi + k] === signatures[bj + k]) equal++;
          if (equal < minEqual) continue;
          similarPairs++;
          sets.union(owner[i], owner[j]);
          if (equal > neighbourEqual[i] || (equal === neighbourEqual[i] && j < neighbour[i])) [neighbour[i], neighbourEqual[i]] = [j, equal];
          if (equal > neighbourEqual[j] || (equal === neighbourEqual[j] && i < neighbour[j])) [neighbour[j], neighbourEqual[j]] = [i, equal];
        }
      }
    }
  }
  const lshMs = performance.now() - started;

  // 4. Verdicts: the root of each cluster is its lowest id.
  const verdicts: DedupVerdict[] = new Array(n);
  const size = new Int32Array(n);
  for (let rank = 0; rank < n; rank++) if (row[rank] !== -1) size[sets.find(rank)]++;
  let clusters = 0;
  let nearDuplicates = 0;
  for (let rank = 0; rank < n; rank++) {
    const input = order[rank];
    const r = row[rank];
    if (r === -1) {
      verdicts[input] = { kind: 'empty' };
      continue;
    }
    const root = sets.find(rank);
    if (root === rank) {
      if (size[rank] > 1) clusters++;
      verdicts[input] = { kind: 'kept' };
    } else if (r === row[root]) {
      exactDuplicates++;
      verdicts[input] = { kind: 'exact-duplicate', kept: order[root] };
    } else {
      nearDuplicates++;
      const jaccard = estimateJaccard(signatures, signatures, p, r * p, row[root] * p);
      const linked = neighbour[r];
      verdicts[input] =
        jaccard >= threshold || linked === -1 || owner[linked] === root
          ? { kind: 'near-duplicate', kept: order[root], jaccard }
          : { kind: 'near-duplicate', kept: order[root], jaccard, via: { index: order[owner[linked]], jaccard: neighbourEqual[r] / p } };
    }
  }
  return {
    verdicts,
    documents: n,
    empty,
    exactDuplicates,
    candidatePairs,
    comparedPairs,
    similarPairs,
    nearDuplicates,
    clusters,
    largestBucket,
    timings: { exactMs, signaturesMs, lshMs },
  };
}
