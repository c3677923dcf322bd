// A partition key hashed a segment at a time is the key hashed whole: existing stores keep their
// partition results.
import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprintWithList } from '../../pipelines/fingerprint.ts';

describe('fingerprintWithList', () => {
  it('gives fingerprint(...parts, list) for lists of records, empty lists and odd elements', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      z: i,
      id: `segment-${i}`,
      cues: { b: [1.5, -0, 1e21, null], a: { y: 'é – “quoted” \n', x: undefined } },
      ...(i % 2 ? { labels: { primary: 'happy', openset: ['happy', 'glad'] } } : {}),
    }));
    const parts = ['partition', 'f'.repeat(64), { teachers: ['b', 'a'], missing: undefined }];
    expect(fingerprintWithList(parts, records)).toBe(fingerprint(...parts, records));
    expect(fingerprintWithList(parts, [])).toBe(fingerprint(...parts, []));
    expect(fingerprintWithList([], [undefined, 1, 'x', [undefined]])).toBe(fingerprint([undefined, 1, 'x', [undefined]]));
    expect(fingerprintWithList(['a'], records)).not.toBe(fingerprintWithList(['a'], records.slice(1)));
  });
});
