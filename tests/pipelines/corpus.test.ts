// The corpus between phases: stored partitions read a segment at a time with the global decisions
// on top; each decision's outcomes are recorded once per segment, however the corpus is read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoredCorpus, type CorpusLayer } from '../../pipelines/corpus.ts';
import { encodePartitionResult } from '../../pipelines/run/stored-partition.ts';
import { drop, isDrop } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import type { Segment } from '../../schemas/records.ts';

const segment = (partition: number, index: number) => ({ id: `p${partition}-s${index}`, clipId: `p${partition}`, index }) as unknown as Segment;

let work: string;
let store: LocalStore;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'emoforge-corpus-'));
  store = new LocalStore(work);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Two stored partitions of four segments and one held (not stored) of two. */
async function corpus(): Promise<StoredCorpus> {
  const parts = [];
  for (const partition of [0, 1]) {
    const segments = [0, 1, 2, 3].map((i) => segment(partition, i));
    await store.put(`partitions/p${partition}.ndjson`, encodePartitionResult({ segments, drops: [], stats: {} }));
    parts.push({ partition, key: `partitions/p${partition}.ndjson`, count: segments.length });
  }
  parts.push({ partition: 2, key: 'partitions/p2.ndjson', count: 2, segments: [segment(2, 0), segment(2, 1)] });
  return new StoredCorpus(store, parts);
}

/** Drops odd indexes; tags the rest; remembers every outcome it hears. */
function oddDropper(heard: string[]): CorpusLayer {
  return {
    stage: 'odd',
    decision: { apply: (s) => (s.index % 2 ? drop('odd', `${s.id} is odd`) : ({ ...s, subtitle: 'even' } as Segment)) },
    record: (input, result) => heard.push(`${input.id}:${isDrop(result) ? 'dropped' : 'kept'}`),
    flag: () => undefined,
  };
}

async function ids(stream: AsyncIterable<Segment>): Promise<string[]> {
  const found: string[] = [];
  for await (const s of stream) found.push(s.id);
  return found;
}

describe('StoredCorpus', () => {
  it('streams every kept segment in partition and stored order, and records each outcome once over several reads', async () => {
    const heard: string[] = [];
    const decided = (await corpus()).withLayer(oddDropper(heard));
    expect(decided.pending).toBe(true);
    const expected = ['p0-s0', 'p0-s2', 'p1-s0', 'p1-s2', 'p2-s0'];
    expect(await ids(decided.stream())).toEqual(expected);
    expect(decided.pending).toBe(false);
    expect(await ids(decided.stream())).toEqual(expected);
    expect((await decided.load(decided.parts[1])).map((s) => [s.id, s.subtitle])).toEqual([
      ['p1-s0', 'even'],
      ['p1-s2', 'even'],
    ]);
    expect(heard).toHaveLength(10);
    expect(new Set(heard).size).toBe(10);
  });

  it('a reader that stops inside a partition still leaves all its outcomes recorded, and no later read records them again', async () => {
    const heard: string[] = [];
    const decided = (await corpus()).withLayer(oddDropper(heard));
    for await (const s of decided.stream()) {
      expect(s.id).toBe('p0-s0');
      break;
    }
    expect(heard).toEqual(['p0-s0:kept', 'p0-s1:dropped', 'p0-s2:kept', 'p0-s3:dropped']);
    await ids(decided.stream());
    expect(heard).toHaveLength(10);
    expect(heard.filter((h) => h.startsWith('p0-'))).toHaveLength(4);
  });

  it('gives a partition in id order, a segment at a time, with the same decisions and outcomes recorded once', async () => {
    const heard: string[] = [];
    const letters = ['c', 'a', 'd', 'b', 'e'];
    // Stored out of id order; one segment written with its id last (read by parsing its line).
    const segments = letters.map((id, index) => ({ id: `seg-${id}`, clipId: 'clip', index }) as unknown as Segment);
    segments[3] = { clipId: 'clip', index: 3, id: 'seg-b' } as unknown as Segment;
    await store.put('partitions/mixed.ndjson', encodePartitionResult({ segments, drops: [], stats: {} }));
    const decided = new StoredCorpus(store, [{ partition: 0, key: 'partitions/mixed.ndjson', count: 5 }]).withLayer(oddDropper(heard));
    const ordered = [...(await decided.inIdOrder(decided.parts[0]))];
    // Odd indexes (c's 0 kept, a's 1 dropped, d's 2 kept, b's 3 dropped, e's 4 kept), in id order.
    expect(ordered.map((s) => s.id)).toEqual(['seg-c', 'seg-d', 'seg-e']);
    expect(ordered.every((s) => s.subtitle === 'even')).toBe(true);
    expect(heard.sort()).toEqual(['seg-a:dropped', 'seg-b:dropped', 'seg-c:kept', 'seg-d:kept', 'seg-e:kept']);
    expect((await ids(decided.stream())).sort()).toEqual(['seg-c', 'seg-d', 'seg-e']);
    expect(heard).toHaveLength(5);
  });

  it('in id order too, a reader that stops early leaves every outcome recorded; a damaged partition fails before its first segment', async () => {
    const heard: string[] = [];
    const decided = (await corpus()).withLayer(oddDropper(heard));
    for (const s of await decided.inIdOrder(decided.parts[0])) {
      expect(s.id).toBe('p0-s0');
      break;
    }
    expect(heard.sort()).toEqual(['p0-s0:kept', 'p0-s1:dropped', 'p0-s2:kept', 'p0-s3:dropped']);
    const bytes = (await store.get('partitions/p1.ndjson'))!;
    await store.put('partitions/p1.ndjson', bytes.subarray(0, bytes.length - 3));
    await expect(decided.inIdOrder(decided.parts[1])).rejects.toThrow(/partitions\/p1\.ndjson in .* is damaged/);
    expect(heard.filter((h) => h.startsWith('p1-'))).toEqual([]);
  });
});
