import { describe, expect, it } from 'vitest';
import {
  estimateJaccard,
  exactJaccard,
  exactKey,
  findDuplicates,
  shingleHashes,
  signature,
  type DedupDocument,
  type MinHashOptions,
} from '../../../pipelines/quality/minhash.ts';
import { mulberry32 } from '../../../pipelines/random.ts';

const OPTIONS: MinHashOptions = { permutations: 128, shingle: 3, bands: 16, threshold: 0.8 };

/** Words w{from}..w{from+count-1}, one text: with 1-word shingles its shingle set is exactly those words. */
const words = (from: number, count: number) => Array.from({ length: count }, (_, i) => `w${from + i}`).join(' ');

const FACES = ['smiles broadly', 'frowns', 'stares wide-eyed', 'looks down', 'grimaces', 'raises an eyebrow', 'clenches the jaw', 'bites the lip'];
const VOICES = ['high and quick', 'low and slow', 'flat and steady', 'shaky and soft', 'loud and sharp', 'breathy and hesitant'];
const VOCABULARY =
  'after again always answer around back before believe better bring call change come could daughter doctor door early enough every family father find friend gave give going hand happened hard head hear help home hope hour house idea keep kind knew know last late leave life little long look lost made make maybe mean money morning mother move name need never night nothing office only paper people phone place plan please problem question ready really remember report right room school second sister sleep sorry start still stop story sure take talk tell thank think thought today together tomorrow tonight trust turn understand wait want watch water week went where while why wish without work world worry wrong year yesterday young'.split(
    ' ',
  );

/** `count` distinct emotion descriptions (about 45 words each). */
function descriptions(count: number, seed = 7): string[] {
  const random = mulberry32(seed);
  const pick = <T>(pool: readonly T[]) => pool[Math.floor(random() * pool.length)];
  const quote = () => Array.from({ length: 10 }, () => pick(VOCABULARY)).join(' ');
  return Array.from(
    { length: count },
    () =>
      `The speaker ${pick(FACES)} while the voice is ${pick(VOICES)} at ${100 + Math.floor(random() * 200)} Hz. They say "${quote()}" and then "${quote()}". Overall they seem ${pick(['happy', 'sad', 'angry', 'afraid', 'calm', 'surprised'])}.`,
  );
}

/** `text` with the word at `at` replaced. */
function edit(text: string, at: number, word = 'zebra'): string {
  const parts = text.split(' ');
  parts[at] = word;
  return parts.join(' ');
}

const verdictsById = (documents: readonly DedupDocument[], options = OPTIONS) => {
  const report = findDuplicates(documents, options);
  return new Map(
    documents.map((doc, i) => {
      const verdict = report.verdicts[i];
      return [doc.id, verdict.kind === 'kept' || verdict.kind === 'empty' ? verdict.kind : `${verdict.kind} of ${documents[verdict.kept].id}`];
    }),
  );
};

describe('shingles and Jaccard', () => {
  it('shingles words case- and punctuation-blind, never across texts, a short text as one shingle', () => {
    expect(exactJaccard(['a b c d e'], ['a b c d f'], 3)).toBe(2 / 4);
    expect(exactJaccard(['A, b. C!'], ['a b c'], 3)).toBe(1);
    expect(exactJaccard(['a b', 'c d'], ['a b c d'], 2)).toBe(2 / 3);
    expect(shingleHashes(['two words'], 3)).toHaveLength(1);
    expect(shingleHashes(['', '  ...  '], 3)).toHaveLength(0);
    // Decimals and contractions are one word each.
    expect(shingleHashes(["it's 3.6 Hz"], 1)).toHaveLength(3);
  });

  it('estimates known Jaccard similarities within the MinHash error', () => {
    const errors: number[] = [];
    // Two runs of n words offset by k share n − k of n + k words: Jaccard (n − k) / (n + k).
    for (const [n, k] of [
      [100, 0],
      [90, 10],
      [100, 20],
      [100, 50],
      [80, 40],
      [120, 5],
      [60, 30],
      [50, 50],
      [150, 15],
      [200, 100],
    ]) {
      for (const base of [0, 1000, 5000]) {
        const a = [words(base, n)];
        const b = [words(base + k, n)];
        const truth = (n - k) / (n + k);
        expect(exactJaccard(a, b, 1)).toBeCloseTo(truth, 12);
        const estimate = estimateJaccard(signature(a, { permutations: 256, shingle: 1 }), signature(b, { permutations: 256, shingle: 1 }));
        errors.push(Math.abs(estimate - truth));
      }
    }
    // sd of the estimate is sqrt(J(1 − J) / 256) ≤ 0.031
    expect(Math.max(...errors)).toBeLessThan(0.1);
    expect(errors.reduce((a, b) => a + b, 0) / errors.length).toBeLessThan(0.03);
    // Identical texts estimate exactly 1; disjoint ones close to 0.
    expect(estimateJaccard(signature([words(0, 50)], OPTIONS), signature([words(0, 50)], OPTIONS))).toBe(1);
    expect(estimateJaccard(signature([words(0, 50)], OPTIONS), signature([words(50, 50)], OPTIONS))).toBeLessThan(0.05);
  });

  it('keys exact duplicates on lower-cased text with whitespace collapsed, fields kept apart', () => {
    expect(exactKey(['The voice  is\nHIGH. ', 'yes'])).toBe(exactKey(['the voice is high.', 'yes']));
    expect(exactKey(['the voice is high.'])).not.toBe(exactKey(['the voice is high!']));
    expect(exactKey(['a b'])).not.toBe(exactKey(['a', 'b']));
    expect(exactKey(['a b'])).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('findDuplicates', () => {
  const texts = descriptions(40);
  const base: DedupDocument[] = texts.map((text, i) => ({ id: `seg-${String(i).padStart(3, '0')}`, texts: [text] }));

  it('drops a planted near copy and an exact copy, naming the lowest id as kept, and keeps distinct texts', () => {
    const nearCopy = { id: 'seg-001a', texts: [edit(texts[1], 20)] };
    const exactCopy = { id: 'seg-000a', texts: [`  ${texts[7].toUpperCase().replace(/ /g, '   ')}`] };
    expect(exactJaccard(nearCopy.texts, base[1].texts, 3)).toBeGreaterThan(0.85);
    const documents = [...base, nearCopy, exactCopy];
    const report = findDuplicates(documents, OPTIONS);
    const verdicts = verdictsById(documents);
    expect(verdicts.get('seg-001a')).toBe('near-duplicate of seg-001');
    // seg-000a sorts before seg-007: the copy is kept, the original goes.
    expect(verdicts.get('seg-007')).toBe('exact-duplicate of seg-000a');
    expect(verdicts.get('seg-000a')).toBe('kept');
    expect([...verdicts.values()].filter((v) => v === 'kept')).toHaveLength(40);
    expect(report).toMatchObject({ documents: 42, exactDuplicates: 1, nearDuplicates: 1, clusters: 2, empty: 0 });
    const near = report.verdicts[40];
    expect(near.kind === 'near-duplicate' && near.jaccard).toBeGreaterThanOrEqual(0.8);
    // Distinct descriptions share templates but not shingles enough to become LSH candidates.
    expect(report.candidatePairs).toBeLessThan(10);
  });

  it('gives the same clusters and kept ids whatever the input order', () => {
    const documents = [
      ...base,
      { id: 'seg-001a', texts: [edit(texts[1], 20)] },
      { id: 'seg-002a', texts: [edit(texts[2], 30)] },
      { id: 'seg-000b', texts: [texts[2]] },
    ];
    const expected = verdictsById(documents);
    expect(expected.get('seg-002')).toBe('exact-duplicate of seg-000b');
    expect(expected.get('seg-002a')).toBe('near-duplicate of seg-000b');
    const random = mulberry32(99);
    for (let round = 0; round < 5; round++) {
      const shuffled = [...documents].sort(() => random() - 0.5);
      expect(verdictsById(shuffled)).toEqual(expected);
    }
    expect(verdictsById([...documents].reverse())).toEqual(expected);
  });

  it('clusters a chain and names the neighbour that links an end too far from the kept one', () => {
    // Offsets of 5 words in 200: neighbours at Jaccard 0.95, the ends at 0.82 (below 0.9).
    const chain = [0, 5, 10, 15, 20].map((offset, i) => ({ id: `chain-${i}`, texts: [words(offset, 200)] }));
    const options = { permutations: 256, shingle: 1, bands: 32, threshold: 0.9 };
    const report = findDuplicates([...chain, ...base], options);
    expect(report.verdicts[0]).toEqual({ kind: 'kept' });
    for (let i = 1; i < 5; i++) expect(report.verdicts[i]).toMatchObject({ kind: 'near-duplicate', kept: 0 });
    const end = report.verdicts[4];
    if (end.kind !== 'near-duplicate') throw new Error('the chain end was not dropped');
    expect(end.jaccard).toBeLessThan(0.9);
    expect(end.via?.jaccard).toBeGreaterThanOrEqual(0.9);
    expect(end.via?.index).toBe(3);
  });

  it('only compares LSH candidates: one band of all 128 rows misses a 0.95 pair that 16 bands find', () => {
    const documents = [...base, { id: 'seg-001a', texts: [edit(texts[1], 20)] }];
    expect(verdictsById(documents).get('seg-001a')).toBe('near-duplicate of seg-001');
    const oneBand = findDuplicates(documents, { ...OPTIONS, bands: 1 });
    expect(oneBand.verdicts[40]).toEqual({ kind: 'kept' });
    expect(oneBand.candidatePairs).toBe(0);
  });

  it('keeps documents without words and never pairs them', () => {
    const documents = [{ id: 'a', texts: [''] }, { id: 'b', texts: ['...', '  '] }, { id: 'c', texts: [] }, ...base.slice(0, 3)];
    const report = findDuplicates(documents, OPTIONS);
    expect(report.verdicts.slice(0, 3)).toEqual([{ kind: 'empty' }, { kind: 'empty' }, { kind: 'empty' }]);
    expect(report.empty).toBe(3);
    expect(report.verdicts.slice(3)).toEqual([{ kind: 'kept' }, { kind: 'kept' }, { kind: 'kept' }]);
  });

  it('rejects options by name and value', () => {
    expect(() => findDuplicates(base, { ...OPTIONS, bands: 12 })).toThrow('bands must divide permutations (128), got 12');
    expect(() => findDuplicates(base, { ...OPTIONS, threshold: 0 })).toThrow('threshold must be in (0, 1], got 0');
    expect(() => findDuplicates(base, { ...OPTIONS, threshold: 1.5 })).toThrow('threshold must be in (0, 1], got 1.5');
    expect(() => findDuplicates(base, { ...OPTIONS, shingle: 0 })).toThrow('shingle must be a positive integer, got 0');
    expect(() => findDuplicates(base, { ...OPTIONS, permutations: 2.5 })).toThrow('permutations must be a positive integer, got 2.5');
  });
});
