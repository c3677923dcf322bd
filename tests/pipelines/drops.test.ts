// A drop keeps its snapshot as deflated UTF-8 JSON bytes; every reader sees the same fields, order and values
// as from the plain snapshot, and a packed drop takes a fraction of the heap.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { packDrop, segmentDrop, snapshotOf } from '../../pipelines/drops.ts';
import { Drop, type Segment } from '../../schemas/records.ts';

const long = (n: number) => `The pitch is high (range 180–260 Hz) ${'and the face reads as sad '.repeat(n)}é.`;

function segment(i: number): Segment {
  return {
    id: i.toString(16).padStart(64, '0'),
    clipId: 'c'.repeat(64),
    clip: {
      id: 'c'.repeat(64),
      uri: 'clips/a.mp4',
      name: 'a',
      bytes: 10,
      probe: { duration: 4, formatName: 'mp4', hasVideo: true, hasAudio: true },
      manifest: { speaker: 'spk1', label: 'sad' },
      partition: 0,
    },
    index: i,
    start: 0,
    end: 2.5,
    transcript: { text: 'short words', language: 'en', languageSource: 'config', engine: 'manifest' },
    description: { text: long(40), provenance: { teacher: 'rules', model: 'rules-v3', template: 'describe.rules@1' } },
    rationale: { steps: [long(10), long(12)], emotion: 'sad', provenance: { teacher: 'rules', model: 'rules-v3', template: 'rationale.rules@1' } },
  } as Segment;
}

describe('drops', () => {
  it('gives every reader of a packed snapshot what the plain snapshot holds', () => {
    const s = segment(1);
    const drop = segmentDrop(s, 'filter.corpus', { reason: 'length-outlier', detail: 'too long' });
    const plain = snapshotOf(s);
    expect(drop.segment).toEqual(plain);
    expect(JSON.stringify(drop.segment)).toBe(JSON.stringify(plain));
    expect(Object.keys(drop.segment!)).toEqual(Object.keys(plain));
    expect({ ...drop.segment }).toEqual(plain);
    expect(Drop.parse(drop).segment).toEqual(plain);
    expect(Object.keys(drop)).toEqual(['id', 'clipId', 'uri', 'stage', 'reason', 'detail', 'segment']);
    expect(Object.getOwnPropertyDescriptor(drop, 'segment')?.get).toBeTypeOf('function');
    // A drop read back from the store (plain JSON) packs to the same.
    const stored = packDrop(JSON.parse(JSON.stringify(drop)) as Drop);
    expect(JSON.stringify(stored)).toBe(JSON.stringify(drop));
    expect(packDrop({ ...drop, segment: undefined })).toEqual({ ...drop, segment: undefined });
  });

  it('holds ten thousand drops in less memory (heap and buffers) than their snapshots take as strings', async () => {
    // A full collection before each reading (the flag takes effect for a new context's global); V8
    // frees dead buffers' memory on a background thread after it, so the readings wait for that.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settled = async () => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return process.memoryUsage();
    };
    // Ten thousand drops: a reading after a collection varies by some 250 KB from run to run.
    const COUNT = 10_000;
    // Heap bytes, and heap plus ArrayBuffer bytes: the packed snapshots live outside the heap.
    const grownBy = async (make: (i: number) => unknown) => {
      const before = await settled();
      const held = Array.from({ length: COUNT }, (_, i) => make(i));
      const after = await settled();
      expect(held.length).toBe(COUNT);
      return { heap: after.heapUsed - before.heapUsed, total: after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers };
    };
    // The snapshot's share is what packing changes: drops without one are the baseline of both.
    const makers = {
      bare: (i: number) => ({ ...segmentDrop(segment(i), 'x', { reason: 'r', detail: 'd' }), segment: undefined }),
      packed: (i: number) => segmentDrop(segment(i), 'x', { reason: 'r', detail: 'd' }),
      plain: (i: number) => ({ ...segmentDrop(segment(i), 'x', { reason: 'r', detail: 'd' }), segment: snapshotOf(segment(i)) }),
    };
    // Warm: the first calls compile the code and its feedback, which the heap would count in the first reading.
    for (const make of Object.values(makers)) for (let i = 0; i < 200; i++) make(i);
    const bare = await grownBy(makers.bare);
    const packed = await grownBy(makers.packed);
    const plain = await grownBy(makers.plain);
    // The texts here are ~1.5 KB a drop, UTF-16 in a string (an en dash). Packed, the snapshots take
    // less than half, in the heap and counting the deflated bytes (measured: ~1.7 KB a snapshot in the
    // heap as strings; packed ~180 B of heap and ~420 B with its bytes, a quarter).
    const share = (m: { heap: number; total: number }) => ({ heap: m.heap - bare.heap, total: m.total - bare.total });
    expect(share(plain).heap).toBeGreaterThan(COUNT * 1000);
    expect(share(packed).heap).toBeLessThan(share(plain).heap / 2);
    expect(share(packed).total).toBeLessThan(share(plain).total / 2);
  });
});
