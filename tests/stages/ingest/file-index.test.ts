// A re-run of ingest recognises unchanged input files by their identity on disk instead of reading
// them again; any change a file can undergo (bytes, size, a rewrite in place with its mtime put
// back, a new inode) makes it hashed again, and --rehash hashes everything.
import { copyFile, mkdir, open, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../../pipelines/fingerprint.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { ingest } from '../../../stages/ingest.ts';
import { sampleClips, stageContext, tempDir } from '../../helpers.ts';

const config = ingest.configSchema.parse({});

async function ingestOnce(input: string, store: LocalStore, rehash = false) {
  const { ctx, work } = stageContext({ store, stage: 'ingest' });
  const result = await ingest.run(config, { input, partitions: 4, ...(rehash ? { rehash } : {}) }, ctx);
  return { ids: Object.fromEntries(result.clips.map((c) => [c.uri, c.id])), hashed: work.hash ?? 0, probed: work.probe ?? 0, result };
}

/** The store's one ingest index: its key and its parsed JSON. */
async function indexOf(store: LocalStore): Promise<{ key: string; index: { files: Record<string, { sha256: string }>; probes: Record<string, unknown> } }> {
  const keys: string[] = [];
  for await (const key of store.list('cache/ingest/files/')) keys.push(key);
  expect(keys).toHaveLength(1);
  return { key: keys[0], index: JSON.parse((await store.get(keys[0]))!.toString('utf8')) };
}

describe('ingest file index', () => {
  let clips: string;
  beforeAll(async () => {
    clips = await sampleClips(3);
  }, 300_000);

  it('hashes each file once, recognises unchanged ones on a re-run, and hashes a changed one again', async () => {
    const input = await tempDir();
    // Whole-second times, so that putting c1's mtime back below restores it to the nanosecond.
    const SECOND = 1_700_000_000;
    for (const n of [1, 2, 3]) {
      await copyFile(join(clips, `sample_000${n}.mp4`), join(input, `c${n}.mp4`));
      await utimes(join(input, `c${n}.mp4`), SECOND, SECOND);
    }
    const store = new LocalStore(await tempDir());

    const first = await ingestOnce(input, store);
    expect(first.hashed).toBe(3);
    expect(first.probed).toBe(3);
    for (const n of [1, 2, 3]) expect(first.ids[`c${n}.mp4`]).toBe(sha256(await readFile(join(input, `c${n}.mp4`))));

    const again = await ingestOnce(input, store);
    expect(again).toMatchObject({ ids: first.ids, hashed: 0, probed: 0 });
    expect(again.result).toEqual(first.result);
    // The probe verdicts come with the index (one object), not from the per-file probe cache.
    for await (const key of store.list('cache/probe/')) await store.delete(key);
    expect(await ingestOnce(input, store)).toMatchObject({ ids: first.ids, hashed: 0, probed: 0 });

    // c1: one byte changed in place, same size, mtime and atime put back (rsync --inplace -t does
    // this): only the ctime tells, and it is enough.
    const path = join(input, 'c1.mp4');
    const before = await stat(path, { bigint: true });
    const handle = await open(path, 'r+');
    const last = Buffer.alloc(1);
    const end = Number(before.size) - 1;
    await handle.read(last, 0, 1, end);
    await handle.write(Buffer.from([last[0] ^ 0xff]), 0, 1, end);
    await handle.close();
    await utimes(path, SECOND, SECOND);
    const after = await stat(path, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    // c2: rewritten with c3's bytes.
    await writeFile(join(input, 'c2.mp4'), await readFile(join(input, 'c3.mp4')));

    const changed = await ingestOnce(input, store);
    expect(changed.hashed).toBe(2);
    expect(changed.ids['c1.mp4']).toBe(sha256(await readFile(path)));
    expect(changed.ids['c1.mp4']).not.toBe(first.ids['c1.mp4']);
    // c2 now holds c3's bytes: it is c3's duplicate, kept once under the first uri.
    expect(changed.ids['c2.mp4']).toBe(first.ids['c3.mp4']);
    expect(changed.ids['c3.mp4']).toBeUndefined();

    const rehashed = await ingestOnce(input, store, true);
    expect(rehashed.hashed).toBe(3);
    expect(rehashed.ids).toEqual(changed.ids);
  });

  it('treats a damaged index as no index: every file is hashed, nothing fails', async () => {
    const input = await tempDir();
    await copyFile(join(clips, 'sample_0001.mp4'), join(input, 'a.mp4'));
    const storeDir = await tempDir();
    const store = new LocalStore(storeDir);
    const first = await ingestOnce(input, store);
    const keys: string[] = [];
    for await (const key of store.list('cache/ingest/files/')) keys.push(key);
    expect(keys).toHaveLength(1);
    await store.put(keys[0], '{"version":1,"root":');
    const damaged = await ingestOnce(input, store);
    expect(damaged).toMatchObject({ ids: first.ids, hashed: 1, probed: 0 });
    // …and the index is written whole again.
    expect((await ingestOnce(input, store)).hashed).toBe(0);
    // A probe verdict of the wrong shape damages the index as much as cut-off JSON.
    const index = JSON.parse((await store.get(keys[0]))!.toString('utf8'));
    for (const sha of Object.keys(index.probes)) index.probes[sha] = 5;
    await store.put(keys[0], JSON.stringify(index));
    expect(await ingestOnce(input, store)).toMatchObject({ ids: first.ids, hashed: 1, probed: 0 });
    // A file entry whose sha256 is not one damages it too.
    expect((await ingestOnce(input, store)).hashed).toBe(0);
    const { index: written } = await indexOf(store);
    for (const entry of Object.values(written.files)) entry.sha256 = 'not-a-sha256';
    await store.put(keys[0], JSON.stringify(written));
    expect(await ingestOnce(input, store)).toMatchObject({ ids: first.ids, hashed: 1, probed: 0 });
  });

  it("takes an unchanged file's sha256 and probe from the index without reading the file; a touched one is read again", async () => {
    const input = await tempDir();
    await copyFile(join(clips, 'sample_0001.mp4'), join(input, 'a.mp4'));
    await copyFile(join(clips, 'sample_0002.mp4'), join(input, 'b.mp4'));
    const store = new LocalStore(await tempDir());
    const first = await ingestOnce(input, store);
    const real = first.ids['a.mp4'];
    // The index says a.mp4 holds other bytes: a re-run that read a.mp4 could not give that id.
    const planted = 'f'.repeat(64);
    const { key, index } = await indexOf(store);
    index.files[join(input, 'a.mp4')].sha256 = planted;
    index.probes[planted] = index.probes[real];
    delete index.probes[real];
    await store.put(key, JSON.stringify(index));
    const trusted = await ingestOnce(input, store);
    expect(trusted).toMatchObject({ ids: { 'a.mp4': planted, 'b.mp4': first.ids['b.mp4'] }, hashed: 0, probed: 0 });
    expect(trusted.result.clips.find((c) => c.uri === 'a.mp4')!.probe).toEqual(first.result.clips.find((c) => c.uri === 'a.mp4')!.probe);

    // Known bytes without a probe verdict in the index: still not hashed; probed (the probe cache is keyed by the planted id).
    const { index: noVerdict } = await indexOf(store);
    delete noVerdict.probes[planted];
    await store.put(key, JSON.stringify(noVerdict));
    expect(await ingestOnce(input, store)).toMatchObject({ ids: { 'a.mp4': planted }, hashed: 0, probed: 1 });

    // Touched (mtime one second on): read again, and its true id is back.
    const { mtime } = await stat(join(input, 'a.mp4'));
    await utimes(join(input, 'a.mp4'), mtime, new Date(mtime.getTime() + 1000));
    expect(await ingestOnce(input, store)).toMatchObject({ ids: first.ids, hashed: 1 });
    expect((await ingestOnce(input, store)).hashed).toBe(0);

    // Moved to another path, or replaced by a copy of itself (a new inode): read again, nothing else.
    await mkdir(join(input, 'moved'));
    await rename(join(input, 'a.mp4'), join(input, 'moved', 'a.mp4'));
    await copyFile(join(input, 'b.mp4'), join(input, 'b.copy'));
    await rename(join(input, 'b.copy'), join(input, 'b.mp4'));
    const moved = await ingestOnce(input, store);
    expect(moved).toMatchObject({ ids: { 'moved/a.mp4': real, 'b.mp4': first.ids['b.mp4'] }, hashed: 2, probed: 0 });
  });

  it('reads an index whose probe verdicts have fields it does not know, or in another order, as zod does', async () => {
    const input = await tempDir();
    await copyFile(join(clips, 'sample_0001.mp4'), join(input, 'a.mp4'));
    const store = new LocalStore(await tempDir());
    const first = await ingestOnce(input, store);
    const { key, index } = await indexOf(store);
    const [sha] = Object.keys(index.probes);
    const { probe } = index.probes[sha] as { probe: Record<string, unknown> };
    // Fields reversed, and one no schema names: zod keeps the schema's fields in its order and drops the other.
    index.probes[sha] = { probe: { ...Object.fromEntries(Object.entries(probe).reverse()), rotation: 90 } };
    await store.put(key, JSON.stringify(index));
    const again = await ingestOnce(input, store);
    expect(again).toMatchObject({ ids: first.ids, hashed: 0, probed: 0 });
    expect(JSON.stringify(again.result.clips)).toBe(JSON.stringify(first.result.clips));
  });
});
