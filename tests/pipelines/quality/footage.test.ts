// Footage fingerprints on real media (demo clips and ffmpeg-made copies): the same footage matches
// through a re-encode, a mirror and a cut, different footage does not, and the comparison is symmetric.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFootage, decodeFootage, dHash, DEFAULT_THRESHOLDS, findFootageDuplicates, type DecodedFootage } from '../../../pipelines/quality/footage.ts';
import { fingerprintFile } from '../../../pipelines/quality/footage-media.ts';
import { closeFootageWorkers } from '../../../pipelines/quality/footage-worker.ts';
import { sampleClips, tempDir } from '../../helpers.ts';

const ffmpeg = (args: string[]) => promisify(execFile)('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args]);
const signal = new AbortController().signal;
const print = async (path: string) => decodeFootage((await fingerprintFile(path, signal)).fingerprint);

describe('footage fingerprints', () => {
  let original: DecodedFootage;
  let copies: Record<string, DecodedFootage>;
  let other: DecodedFootage;

  beforeAll(async () => {
    const clips = await sampleClips(3);
    const work = await tempDir();
    const source = join(clips, 'sample_0001.mp4');
    await ffmpeg(['-i', source, '-vf', 'scale=320:-2', '-c:v', 'libx264', '-crf', '35', '-c:a', 'aac', '-b:a', '48k', join(work, 'small.mp4')]);
    await ffmpeg(['-i', source, '-vf', 'hflip', '-c:a', 'copy', join(work, 'mirror.mp4')]);
    // A 1.5 s piece from inside the clip: "a clip that also sits in a benchmark", cut out of a longer file.
    await ffmpeg(['-ss', '0.6', '-t', '1.5', '-i', source, '-c:v', 'libx264', '-c:a', 'aac', join(work, 'piece.mp4')]);
    original = await print(source);
    copies = { small: await print(join(work, 'small.mp4')), mirror: await print(join(work, 'mirror.mp4')), piece: await print(join(work, 'piece.mp4')) };
    other = await print(join(clips, 'sample_0002.mp4'));
  }, 300_000);
  afterAll(() => closeFootageWorkers());

  it('matches a re-encode at another size and a mirrored copy, not another clip of the same portrait', () => {
    const small = compareFootage(original, copies.small, DEFAULT_THRESHOLDS);
    expect(small).toMatchObject({ duplicate: true, mirrored: false });
    expect(small.audioBer!).toBeLessThan(0.2);
    expect(small.frameBits!).toBeLessThanOrEqual(4);
    const mirror = compareFootage(original, copies.mirror, DEFAULT_THRESHOLDS);
    expect(mirror).toMatchObject({ duplicate: true, mirrored: true, audioBer: 0 });
    // The demo clips all show one portrait: the keyframes alike, the recordings not.
    const different = compareFootage(original, other, DEFAULT_THRESHOLDS);
    expect(different.duplicate).toBe(false);
    expect(different.audioBer!).toBeGreaterThan(0.35);
  });

  it('is symmetric and finds a piece inside a longer file at its offset only when asked to look inside', () => {
    expect(compareFootage(copies.small, original, DEFAULT_THRESHOLDS)).toEqual(compareFootage(original, copies.small, DEFAULT_THRESHOLDS));
    const inside = compareFootage(copies.piece, original, DEFAULT_THRESHOLDS, { contained: true });
    expect(inside.duplicate).toBe(true);
    expect(inside.offsetSec!).toBeGreaterThan(0.4);
    expect(inside.offsetSec!).toBeLessThan(0.8);
  });

  it('clusters copies and keeps the lowest id, whatever order they come in', () => {
    const items = [
      { id: 'c', fingerprint: copies.small },
      { id: 'a', fingerprint: original },
      { id: 'b', fingerprint: other },
      { id: 'd', fingerprint: copies.mirror },
    ];
    const verdicts = (list: typeof items) =>
      new Map(list.map((item, i) => [item.id, findFootageDuplicates(list, { ...DEFAULT_THRESHOLDS, maxDurationDiffSec: 1 }).verdicts[i]]));
    const forward = verdicts(items);
    expect(forward.get('a')).toEqual({ kind: 'kept' });
    expect(forward.get('b')).toEqual({ kind: 'kept' });
    for (const id of ['c', 'd']) expect(forward.get(id)).toMatchObject({ kind: 'duplicate' });
    const backward = verdicts([...items].reverse());
    for (const id of ['a', 'b', 'c', 'd']) expect(backward.get(id)!.kind).toBe(forward.get(id)!.kind);
  });

  it('hashes a 9x8 thumbnail by its brightness steps', () => {
    const ramp = new Uint8Array(72).map((_, i) => 255 - (i % 9) * 20);
    expect(dHash(ramp)).toBe('ffffffffffffffff');
    expect(dHash(new Uint8Array(72).map((_, i) => (i % 9) * 20))).toBe('0000000000000000');
    expect(() => dHash(new Uint8Array(64))).toThrow('9x8');
  });
});
