import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { tempDir } from '../../helpers.ts';

describe('LocalStore', () => {
  it('puts, gets, sizes, lists in order and deletes', async () => {
    const store = new LocalStore(await tempDir());
    expect(await store.get('a/b.json')).toBeNull();
    await store.put('a/b.json', '{"x":1}');
    await store.put('a/a.bin', new Uint8Array([1, 2, 3]));
    await store.put('c.txt', 'c');
    expect((await store.get('a/b.json'))!.toString()).toBe('{"x":1}');
    expect(await store.size('a/a.bin')).toBe(3);
    expect(await store.size('nope')).toBeNull();
    const keys: string[] = [];
    for await (const key of store.list('')) keys.push(key);
    expect(keys).toEqual(['a/a.bin', 'a/b.json', 'c.txt']);
    const under: string[] = [];
    for await (const key of store.list('a')) under.push(key);
    expect(under).toEqual(['a/a.bin', 'a/b.json']);
    await store.delete('c.txt');
    expect(await store.exists('c.txt')).toBe(false);
    expect(await store.localPath('a/a.bin')).toBe(join(store.location, 'a/a.bin'));
  });

  it('replaces atomically and leaves no temp files', async () => {
    const store = new LocalStore(await tempDir());
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('k.json', JSON.stringify({ i, pad: 'x'.repeat(10_000) }))));
    expect(JSON.parse((await store.get('k.json'))!.toString()).pad).toHaveLength(10_000);
    expect(await readdir(store.location)).toEqual(['k.json']);
  });

  it('takes a scratch file with move, and copies without it', async () => {
    const store = new LocalStore(await tempDir());
    const scratch = await tempDir();
    await writeFile(join(scratch, 'a.wav'), 'aaa');
    await writeFile(join(scratch, 'b.wav'), 'bbb');
    await store.putFile('x/a.wav', join(scratch, 'a.wav'), { move: true });
    await store.putFile('x/b.wav', join(scratch, 'b.wav'));
    expect((await store.get('x/a.wav'))!.toString()).toBe('aaa');
    expect((await store.get('x/b.wav'))!.toString()).toBe('bbb');
    expect((await readdir(scratch)).sort()).toEqual(['b.wav']);
  });

  it('refuses keys that could escape the store', async () => {
    const store = new LocalStore(await tempDir());
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', 'a/./b', 'a b']) {
      await expect(store.put(key, 'x')).rejects.toThrow(/invalid store key/);
    }
  });
});
