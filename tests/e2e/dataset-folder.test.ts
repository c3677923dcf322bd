// The out folder is the dataset: every media file a row names lives under OUT/media (hard links to
// the store's artefacts), rows name them by paths relative to OUT, the folder still resolves every
// path after it is copied elsewhere and the store is deleted, and the shards type the media columns
// for Hugging Face. Several segments per clip, so every segment needs a video cut of its own.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { parquetKvMetadata, readRowsHyparquet, type ReadRow } from '../../pipelines/parquet/index.ts';
import { COLUMNS } from '../../schemas/sample.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig } from '../helpers.ts';
import { warmStore } from '../support/warm-store.ts';

const run = promisify(execFile);
const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

async function rowsOf(out: string): Promise<ReadRow[]> {
  const manifest = await readJson(join(out, 'manifest.json'));
  return (await Promise.all(manifest.shards.map((s: { file: string }) => readRowsHyparquet(join(out, s.file))))).flat();
}

function mediaPaths(row: ReadRow): string[] {
  const path = (v: unknown) => (v && typeof v === 'object' ? (v as { path: string }).path : (v as string));
  return [row.video, row.audio, ...((row.frames as unknown[]) ?? []), ...((row.face_crops as unknown[]) ?? []), row.peak_frame]
    .filter((v) => v !== null && v !== undefined)
    .map(path);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

async function probe(
  path: string,
): Promise<{ duration: number; streams: { codec_type: string; sample_rate?: string; channels?: number; codec_name: string }[] }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,codec_name,sample_rate,channels',
    '-of',
    'json',
    `file:${path}`,
  ]);
  const parsed = JSON.parse(stdout);
  return { duration: Number(parsed.format.duration), streams: parsed.streams };
}

describe('the out folder is the dataset', () => {
  let input: string;
  let work: string;
  let out: string;
  let store: string;
  let rows: ReadRow[];

  beforeAll(async () => {
    input = await sampleClips(3);
    work = await tempDir();
    out = join(work, 'out');
    store = await warmStore(join(work, 'store'));
    // 2 s windows over 2–5 s clips: most clips give several segments, so each needs its own cut.
    const config = await writeConfig(
      work,
      demoConfig({ segment: { strategy: 'fixed', windowSec: 2, minSec: 1, frames: 2 }, transcribe: { engine: 'manifest' } }),
    );
    const result = await cli(['run', config, '--input', input, '--out', out, '--store', store]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/media: {2}\d+ files, .* under .*media \(\d+ hard-linked\)/);
    rows = await rowsOf(out);
  }, 600_000);

  it('gives every segment its own video cut (the span within 0.05 s) and a 16 kHz mono WAV', async () => {
    const segments = new Map(rows.map((r) => [String(r.segment_id), r]));
    const perClip = new Map<string, number>();
    for (const r of segments.values()) perClip.set(String(r.clip_id), (perClip.get(String(r.clip_id)) ?? 0) + 1);
    expect(Math.max(...perClip.values())).toBeGreaterThanOrEqual(2);
    for (const row of segments.values()) {
      expect(row.video).toMatch(/^media\/video\/[0-9a-f]{2}\/[0-9a-f]{64}\.mp4$/);
      const video = await probe(join(out, String(row.video)));
      expect(Math.abs(video.duration - (Number(row.end) - Number(row.start)))).toBeLessThanOrEqual(0.05);
      expect(video.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      const audio = await probe(join(out, String(row.audio)));
      expect(audio.streams).toEqual([expect.objectContaining({ codec_type: 'audio', codec_name: 'pcm_s16le', sample_rate: '16000', channels: 1 })]);
      expect(Math.abs(audio.duration - (Number(row.end) - Number(row.start)))).toBeLessThanOrEqual(0.05);
    }
  });

  it('resolves every media path of every row from a copy of OUT with the store deleted, with the sizes and checksums media.jsonl lists', async () => {
    const copy = join(await tempDir(), 'dataset');
    await run('cp', ['-a', out, copy]);
    await rm(store, { recursive: true, force: true });
    const manifest = await readJson(join(copy, 'manifest.json'));
    const indexText = await readFile(join(copy, 'media.jsonl'), 'utf8');
    expect(manifest.media).toEqual({
      index: 'media.jsonl',
      files: expect.any(Number),
      bytes: expect.any(Number),
      sha256: createHash('sha256').update(indexText).digest('hex'),
    });
    const index = new Map(
      indexText
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((e: { file: string; bytes: number; sha256: string }) => [e.file, e]),
    );
    expect(index.size).toBe(manifest.media.files);
    const named = new Set(rows.flatMap(mediaPaths));
    // Rows name exactly the indexed files; the folder holds exactly those (nothing stale, nothing missing).
    expect([...named].sort()).toEqual([...index.keys()].sort());
    expect((await filesUnder(join(copy, 'media'))).map((f) => `media/${f}`)).toEqual([...index.keys()].sort());
    for (const path of named) {
      expect(path.startsWith('media/')).toBe(true);
      const entry = index.get(path)!;
      expect((await stat(join(copy, path))).size).toBe(entry.bytes);
      expect(await sha(join(copy, path))).toBe(entry.sha256);
    }
    expect([...index.values()].reduce((n, e) => n + e.bytes, 0)).toBe(manifest.media.bytes);
  });

  it('types the media columns for Hugging Face in every shard and names the splits train, validation, test', async () => {
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(Object.keys(manifest.splits)).toEqual(['train', 'validation', 'test']);
    expect(manifest.splitNames).toEqual({ train: 'train', validation: 'validation', test: 'test' });
    for (const shard of manifest.shards) {
      expect(shard.file).toMatch(/^shards\/(train|validation|test)-\d{5}-of-\d{5}\.parquet$/);
      const features = JSON.parse((await parquetKvMetadata(join(out, shard.file), 'huggingface'))!).info.features;
      expect(Object.keys(features)).toEqual(COLUMNS.map((c) => c.name));
      expect(features.video).toEqual({ _type: 'Video' });
      expect(features.audio).toEqual({ _type: 'Audio', sampling_rate: 16000 });
      expect(features.frames).toEqual([{ _type: 'Image' }]);
      expect(features.face_crops).toEqual([{ _type: 'Image' }]);
      expect(features.peak_frame).toEqual({ _type: 'Image' });
      expect(features.transcript).toEqual({ dtype: 'string', _type: 'Value' });
    }
    const card = await readFile(join(out, 'README.md'), 'utf8');
    expect(card).toContain('- split: validation\n        path: shards/validation-*.parquet');
  });
});

describe('media in the out folder across runs', () => {
  it('hard-links media from the store, shares it with versions, prunes what a new version no longer names, and embeds bytes when asked', async () => {
    const input = await sampleClips(3);
    const work = await tempDir();
    const out = join(work, 'out');
    const store = await warmStore(join(work, 'store'));
    const config = await writeConfig(work, demoConfig({ transcribe: { engine: 'manifest' } }));
    expect((await cli(['run', config, '--input', input, '--out', out, '--store', store])).code).toBe(0);
    const first = await rowsOf(out);
    // A whole-clip segment's video is the source file itself, linked (one inode with the store's copy).
    const clipRow = first.find((r) => r.name === 'sample_0002')!;
    expect(clipRow.video).toMatch(/^media\/video\/[0-9a-f]{2}\/[0-9a-f]{64}\.mp4$/);
    expect(await sha(join(out, String(clipRow.video)))).toBe(String(clipRow.clip_id));
    for (const path of first.flatMap(mediaPaths)) expect((await stat(join(out, path))).ino).toBe((await stat(join(store, path))).ino);

    // Version 2 without sample_0003: its media leaves OUT/media but stays whole in versions/1.
    const gone = first.filter((r) => r.name === 'sample_0003').flatMap(mediaPaths);
    expect(gone.length).toBeGreaterThan(0);
    await rm(join(input, 'sample_0003.mp4'));
    const second = await cli(['run', config, '--input', input, '--out', out, '--store', store]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/no longer named removed/);
    expect((await readJson(join(out, 'manifest.json'))).version).toBe(2);
    for (const path of gone) {
      await expect(stat(join(out, path))).rejects.toThrow();
      expect((await stat(join(out, 'versions', '1', path))).isFile()).toBe(true);
    }
    const kept = (await rowsOf(out)).flatMap(mediaPaths);
    for (const path of kept) expect((await stat(join(out, 'versions', '2', path))).ino).toBe((await stat(join(out, path))).ino);
    for (const path of (await rowsOf(join(out, 'versions', '1'))).flatMap(mediaPaths))
      expect((await stat(join(out, 'versions', '1', path))).isFile()).toBe(true);

    // write.embedMedia: the same rows, each media column a {bytes, path} struct whose bytes are the file's.
    const embedded = join(work, 'embedded');
    const embedConfig = await writeConfig(await tempDir(), demoConfig({ transcribe: { engine: 'manifest' }, write: { seed: 'test', embedMedia: true } }));
    const third = await cli(['run', embedConfig, '--input', input, '--out', embedded, '--store', store]);
    expect(third.code).toBe(0);
    const manifest = await readJson(join(embedded, 'manifest.json'));
    for (const shard of manifest.shards) {
      const features = JSON.parse((await parquetKvMetadata(join(embedded, shard.file), 'huggingface'))!).info.features;
      expect(features.audio).toEqual({ _type: 'Audio', sampling_rate: 16000 });
      expect(features.frames).toEqual([{ _type: 'Image' }]);
      for (const row of await readRowsHyparquet(join(embedded, shard.file))) {
        const audio = row.audio as { bytes: Uint8Array; path: string };
        expect(audio.path).toMatch(/^media\/audio\//);
        expect(createHash('sha256').update(audio.bytes).digest('hex')).toBe(await sha(join(embedded, audio.path)));
        const frames = row.frames as { bytes: Uint8Array; path: string }[];
        expect(frames.length).toBeGreaterThan(0);
        for (const frame of frames) expect(Buffer.from(frame.bytes).equals(await readFile(join(embedded, frame.path)))).toBe(true);
      }
    }
    // DuckDB reads the structs as Hugging Face stores them.
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const read = await connection.runAndReadAll(
        `SELECT audio.path AS path, octet_length(audio.bytes) AS n, len(frames) AS frames FROM read_parquet('${join(embedded, 'shards', '*.parquet')}')`,
      );
      for (const row of read.getRowObjectsJS()) {
        expect(String(row.path)).toMatch(/^media\/audio\//);
        expect(Number(row.n)).toBe((await stat(join(embedded, String(row.path)))).size);
        expect(Number(row.frames)).toBeGreaterThan(0);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    expect(await readFile(join(embedded, 'README.md'), 'utf8')).toContain('The shards embed every media file');
    // audit's samples table keeps the paths; inspect shows sizes, not bytes.
    const audited = await cli(['audit', embedded, '--sql', 'SELECT audio, frames[1] AS frame FROM samples LIMIT 1', '--json']);
    expect(audited.code, audited.stderr).toBe(0);
    expect(audited.stdout).toMatch(/"audio": ?"media\/audio\/[^"]+\.wav"/);
    expect(audited.stdout).toMatch(/"frame": ?"media\/frames\/[^"]+\.jpg"/);
    const inspected = await cli(['inspect', embedded, '--rows', '1']);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toMatch(/audio: \{"bytes":"<[0-9.]+ KiB>","path":"media\/audio\//);
    // The embedded corpus is the same corpus: the row ids and texts match the path-only one.
    const plain = new Map((await rowsOf(out)).map((r) => [String(r.id), r]));
    const withBytes = await rowsOf(embedded);
    expect(withBytes.length).toBe(plain.size);
    for (const row of withBytes) expect(row.conversations).toEqual(plain.get(String(row.id))!.conversations);
  }, 600_000);

  it('keeps every row in its split across a rename of the split names, from folders written before names were published', async () => {
    const input = await sampleClips(3);
    const work = await tempDir();
    const out = join(work, 'out');
    const store = await warmStore(join(work, 'store'));
    // The first run publishes its train rows as `val` and its validation rows as `train`: a folder whose
    // splits only pinning can reproduce (a fresh assignment would put them back).
    const legacy = await writeConfig(
      work,
      demoConfig({ transcribe: { engine: 'manifest' }, write: { seed: 'test', splitNames: { train: 'val', validation: 'train' } } }),
    );
    expect((await cli(['run', legacy, '--input', input, '--out', out, '--store', store])).code).toBe(0);
    const before = await rowsOf(out);
    expect(new Set(before.map((r) => r.split))).toEqual(new Set(['train', 'val', 'test']));
    // A folder published before split names existed has no splitNames: its `val` is validation.
    for (const file of [join(out, 'manifest.json'), join(out, 'versions', '1', 'manifest.json')]) {
      const { splitNames: _, ...rest } = await readJson(file);
      await writeFile(file, JSON.stringify(rest, null, 2));
    }
    const current = await writeConfig(await tempDir(), demoConfig({ transcribe: { engine: 'manifest' } }));
    expect((await cli(['run', current, '--input', input, '--out', out, '--store', store])).code).toBe(0);
    const after = new Map((await rowsOf(out)).map((r) => [String(r.id), String(r.split)]));
    expect(after.size).toBe(before.length);
    for (const row of before) expect(after.get(String(row.id))).toBe(row.split === 'val' ? 'validation' : row.split);
    expect(Object.keys((await readJson(join(out, 'manifest.json'))).splits)).toEqual(['train', 'validation', 'test']);
    // A config that gives two splits one name is refused before anything runs.
    const clash = await writeConfig(await tempDir(), demoConfig({ write: { splitNames: { test: 'train' } } }));
    const refused = await cli(['run', clash, '--input', input, '--out', join(work, 'clash'), '--store', store]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the three split names must differ');
  }, 600_000);
});
