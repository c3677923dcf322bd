// Reading manifest.json back: a published manifest parses to what was written (a version's parent and
// diff are copied byte for byte into the next one), and a damaged or foreign file is an error that
// names it instead of a TypeError later.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../pipelines/publish/atomic-write.ts';
import { ManifestError, readManifest } from '../../../pipelines/publish/manifest.ts';
import { tempDir } from '../../helpers.ts';

const SHA = 'a'.repeat(64);

const manifest = {
  emoforge: '0.1.0',
  schemaVersion: 5,
  corpus: 'demo',
  configFingerprint: 'f'.repeat(64),
  stages: [{ name: 'ingest', version: 1, fingerprint: 'e'.repeat(64) }],
  shards: [{ file: 'shards/train-00000-of-00001.parquet', split: 'train', rows: 12, bytes: 4096, sha256: SHA }],
  splits: { train: 12, validation: 0, test: 0 },
  splitNames: { train: 'train', validation: 'validation', test: 'test' },
  splitFingerprint: 'd'.repeat(64),
  rejects: { file: 'rejects.parquet', rows: 3, bytes: 900, sha256: SHA },
  media: { index: 'media.jsonl', files: 24, bytes: 100_000, sha256: SHA },
  stats: 'stats.json',
  report: 'report.html',
  card: 'README.md',
  version: 2,
  parent: { version: 1, manifest: SHA },
  diff: {
    rows: { added: 1, removed: 1, changed: 0, kept: 11 },
    clips: { added: [{ clipId: 'c1', name: 'new.mp4' }], removed: [{ clipId: 'c0', name: 'old.mp4', reason: 'takedown' }], changed: [] },
    labelShifts: [{ segmentId: 's1', name: 'a.mp4', from: 'happy', to: 'sad' }],
    addedRows: ['r2'],
    removedRows: ['r1'],
    changedRows: [],
    carried: 0,
  },
};

describe('manifest.json read back', () => {
  it('parses a published manifest to the same JSON, key order included', async () => {
    const dir = await tempDir('manifest-');
    const text = JSON.stringify(manifest, null, 2);
    await writeFile(join(dir, 'manifest.json'), text);
    const read = await readManifest(dir);
    expect(JSON.stringify(read, null, 2)).toBe(text);
    expect(JSON.stringify(read?.diff)).toBe(JSON.stringify(manifest.diff));
  });

  it('reads a manifest written before versions, media and split names', async () => {
    const dir = await tempDir('manifest-');
    const { splitNames, splitFingerprint, media, report, card, version, parent, diff, ...older } = manifest;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...older, createdAt: '2026-01-01T00:00:00.000Z' }));
    const read = await readManifest(dir);
    expect(read?.version).toBeUndefined();
    expect(read?.createdAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('says there is none when the folder has no manifest.json', async () => {
    expect(await readManifest(await tempDir('manifest-'))).toBeUndefined();
  });

  it('names the file and the field when a manifest does not match', async () => {
    const dir = await tempDir('manifest-');
    const file = join(dir, 'manifest.json');
    await writeFile(file, JSON.stringify({ ...manifest, shards: [{ file: 'shards/x.parquet', split: 'train', rows: -1, bytes: 1, sha256: SHA }] }));
    const error = await readManifest(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain('shards.0.rows');
  });

  it('names the file when it is not JSON', async () => {
    const dir = await tempDir('manifest-');
    await writeFile(join(dir, 'manifest.json'), '{"corpus": "demo", "shards": [');
    await expect(readManifest(dir)).rejects.toThrow(
      new RegExp(`${join(dir, 'manifest.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a readable emoforge manifest \\(not JSON`),
    );
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temp file when the write fails', async () => {
    const dir = await tempDir('atomic-');
    await writeFileAtomic(join(dir, 'stats.json'), '{"a":1}');
    await writeFileAtomic(join(dir, 'stats.json'), '{"a":2}');
    // A folder in the way: the rename fails after the temp file was written.
    await mkdir(join(dir, 'report.html'));
    await expect(writeFileAtomic(join(dir, 'report.html'), '<html>')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['report.html', 'stats.json']);
  });
});
