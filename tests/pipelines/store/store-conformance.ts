// One conformance suite for every Store implementation (the local folder and S3): what the runner, the
// stages and the teachers rely on. Each backend's test file calls storeConformance with a factory that
// returns a fresh, empty store.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../../pipelines/store/store.ts';
import { tempDir } from '../../helpers.ts';

async function keysOf(store: Store, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Runs `fn` over `items` with at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export const UNSAFE_KEYS = ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', 'a/./b', 'a b', 'a/', 'a\\b', '..'];

/**
 * Known faults of a test server (not of the store): the suite checks what the server can honour and says
 * what it skipped. AWS S3, MinIO and Ceph need none of these.
 */
export interface ServerQuirks {
  /**
   * s3rver lists by walking folders, so "a/x" comes before "a-b" and "a.b" (binary order puts "-" and "."
   * before "/"), and a page boundary loses such siblings (its continuation skips keys below the last one).
   */
  readonly folderWalkListing?: boolean;
  /** s3rver rewrites an object's file in place, so a GET racing a PUT can read a cut-off body. */
  readonly nonAtomicReplace?: boolean;
}

export function storeConformance(name: string, open: () => Promise<Store>, quirks: ServerQuirks = {}): void {
  describe(`${name} (store conformance)`, () => {
    it('puts, gets, sizes and checks existence of strings and bytes', async () => {
      const store = await open();
      expect(await store.get('a/b.json')).toBeNull();
      expect(await store.exists('a/b.json')).toBe(false);
      expect(await store.size('a/b.json')).toBeNull();
      await store.put('a/b.json', '{"x":1}');
      await store.put('a/a.bin', new Uint8Array([0, 1, 2, 255]));
      await store.put('empty.txt', '');
      expect((await store.get('a/b.json'))!.toString()).toBe('{"x":1}');
      expect([...(await store.get('a/a.bin'))!]).toEqual([0, 1, 2, 255]);
      expect(await store.get('empty.txt')).toEqual(Buffer.alloc(0));
      expect(await store.exists('a/b.json')).toBe(true);
      expect(await store.exists('a')).toBe(false); // a folder is not an object
      expect(await store.size('a/a.bin')).toBe(4);
      expect(await store.size('empty.txt')).toBe(0);
      await store.put('a/b.json', 'replaced');
      expect((await store.get('a/b.json'))!.toString()).toBe('replaced');
      expect(await store.size('a/b.json')).toBe(8);
    });

    it('lists keys in lexicographic order under a folder prefix only', async () => {
      const store = await open();
      const siblings = quirks.folderWalkListing ? [] : ['a.txt', 'a-c.txt'];
      const keys = ['c.txt', 'a/b.json', 'ab/x', ...siblings, 'a/a.bin', 'a/deep/z.wav', 'A.txt', 'b/_x', 'a_b.txt'];
      for (const key of keys) await store.put(key, key);
      expect(await keysOf(store, '')).toEqual([...keys].sort());
      expect(await keysOf(store, '')).toEqual(['A.txt', ...siblings.sort(), 'a/a.bin', 'a/b.json', 'a/deep/z.wav', 'a_b.txt', 'ab/x', 'b/_x', 'c.txt']);
      expect(await keysOf(store, 'a')).toEqual(['a/a.bin', 'a/b.json', 'a/deep/z.wav']);
      expect(await keysOf(store, 'a/')).toEqual(['a/a.bin', 'a/b.json', 'a/deep/z.wav']);
      expect(await keysOf(store, 'a/deep')).toEqual(['a/deep/z.wav']);
      expect(await keysOf(store, 'nope')).toEqual([]);
      expect(await keysOf(store, 'a.txt')).toEqual([]); // an object is not a folder
    });

    it('lists more keys than one listing page (1000) in order, each once', async () => {
      const store = await open();
      const keys = Array.from({ length: 1234 }, (_, i) => `many/${String(i).padStart(5, '0')}-${randomBytes(2).toString('hex')}.json`);
      await eachLimited(keys, 16, (key) => store.put(key, key));
      await store.put(quirks.folderWalkListing ? 'manyz/x' : 'many-other/x', 'x');
      await store.put('manz', 'x');
      const listed = await keysOf(store, 'many');
      expect(listed).toHaveLength(1234);
      expect(listed).toEqual([...keys].sort());
      expect((await keysOf(store, '')).length).toBe(1236);
    });

    it('deletes objects; deleting a missing key is not an error', async () => {
      const store = await open();
      await store.put('d/one', '1');
      await store.put('d/two', '2');
      await store.delete('d/one');
      await store.delete('d/never-was');
      expect(await store.exists('d/one')).toBe(false);
      expect(await store.get('d/one')).toBeNull();
      expect(await keysOf(store, 'd')).toEqual(['d/two']);
    });

    it('copies a file in, or takes a scratch file with move', async () => {
      const store = await open();
      const scratch = await tempDir('emoforge-conformance-');
      await writeFile(join(scratch, 'a.wav'), 'aaa');
      await writeFile(join(scratch, 'b.wav'), 'bbb');
      await store.putFile('x/a.wav', join(scratch, 'a.wav'), { move: true });
      await store.putFile('x/b.wav', join(scratch, 'b.wav'));
      expect((await store.get('x/a.wav'))!.toString()).toBe('aaa');
      expect((await store.get('x/b.wav'))!.toString()).toBe('bbb');
      expect((await readdir(scratch)).sort()).toEqual(['b.wav']);
      await expect(store.putFile('x/c.wav', join(scratch, 'missing.wav'))).rejects.toThrow();
      expect(await store.exists('x/c.wav')).toBe(false);
    });

    it('stores a 12 MB file (larger than one multipart part) byte for byte', async () => {
      const store = await open();
      const scratch = await tempDir('emoforge-conformance-');
      const bytes = randomBytes(12 * 1024 * 1024 + 123);
      await writeFile(join(scratch, 'big.mkv'), bytes);
      await store.putFile('big/clip.mkv', join(scratch, 'big.mkv'));
      expect(await store.size('big/clip.mkv')).toBe(bytes.length);
      expect(sha((await store.get('big/clip.mkv'))!)).toBe(sha(bytes));
      const path = await store.localPath('big/clip.mkv');
      expect(extname(path)).toBe('.mkv');
      expect(sha(await readFile(path))).toBe(sha(bytes));
    });

    it('gives a local file path holding the current bytes', async () => {
      const store = await open();
      await store.put('media/ab/clip.wav', 'first');
      const first = await store.localPath('media/ab/clip.wav');
      expect(extname(first)).toBe('.wav');
      expect(await readFile(first, 'utf8')).toBe('first');
      expect(await store.localPath('media/ab/clip.wav')).toBe(first);
      await store.put('media/ab/clip.wav', 'second, longer');
      expect(await readFile(await store.localPath('media/ab/clip.wav'), 'utf8')).toBe('second, longer');
      await expect(store.localPath('media/ab/missing.wav')).rejects.toThrow(/ENOENT/);
    });

    it('replaces atomically: readers see a whole old or whole new object, never a mix', async () => {
      const store = await open();
      const version = (i: number) => JSON.stringify({ i, pad: String(i % 10).repeat(200_000) });
      await store.put('k.json', version(0));
      let writing = true;
      const seen = new Set<number>();
      const reader = (async () => {
        while (writing && !quirks.nonAtomicReplace) {
          const text = (await store.get('k.json'))!.toString();
          const parsed = JSON.parse(text) as { i: number; pad: string };
          expect(parsed.pad).toBe(String(parsed.i % 10).repeat(200_000));
          seen.add(parsed.i);
        }
      })();
      if (quirks.nonAtomicReplace) for (let i = 1; i <= 12; i++) await store.put('k.json', version(i));
      else await Promise.all(Array.from({ length: 12 }, (_, i) => store.put('k.json', version(i + 1))));
      writing = false;
      await reader;
      const final = JSON.parse((await store.get('k.json'))!.toString()) as { i: number; pad: string };
      expect(final.pad).toBe(String(final.i % 10).repeat(200_000));
      expect(await keysOf(store, '')).toEqual(['k.json']);
      if (!quirks.nonAtomicReplace) expect(seen.size).toBeGreaterThan(0);
    });

    it('refuses keys that could escape the store, in every operation', async () => {
      const store = await open();
      const scratch = await tempDir('emoforge-conformance-');
      await writeFile(join(scratch, 'f'), 'f');
      for (const key of UNSAFE_KEYS) {
        await expect(store.put(key, 'x')).rejects.toThrow(/invalid store key/);
        await expect(store.putFile(key, join(scratch, 'f'))).rejects.toThrow(/invalid store key/);
        await expect(store.get(key)).rejects.toThrow(/invalid store key/);
        await expect(store.exists(key)).rejects.toThrow(/invalid store key/);
        await expect(store.size(key)).rejects.toThrow(/invalid store key/);
        await expect(store.delete(key)).rejects.toThrow(/invalid store key/);
        await expect(store.localPath(key)).rejects.toThrow(/invalid store key/);
      }
      for (const prefix of ['..', '../x', 'a/../..', '/etc']) await expect(keysOf(store, prefix)).rejects.toThrow(/invalid store key/);
      expect(await keysOf(store, '')).toEqual([]);
    });
  });
}
