// The sample clips' portrait: several callers at once on an empty cache (the suite's set-up makes
// its clip sets in parallel on a fresh clone) all get it, and the cache holds one whole PNG.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFaceImage } from '../../scripts/face-image.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-face-image-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('findFaceImage', () => {
  it('gives every caller at once the one cached copy when it is not installed', async () => {
    // A path where nothing is installed: the portrait comes from Debian's package into root/.vendor.
    const found = await Promise.all([1, 2, 3, 4, 5].map(() => findFaceImage(root, join(root, 'not-installed.png'))));
    expect(new Set(found)).toEqual(new Set([join(root, '.vendor', 'astronaut.png')]));
    expect(await readdir(join(root, '.vendor'))).toEqual(['astronaut.png']);
    expect((await readFile(found[0])).subarray(1, 4).toString('latin1')).toBe('PNG');
    // Later calls find the cache.
    expect(await findFaceImage(root, join(root, 'not-installed.png'))).toBe(found[0]);
  }, 120_000);
});
