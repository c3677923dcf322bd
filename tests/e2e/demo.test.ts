// The demo pipeline end to end through the CLI, as a user runs it: real ffmpeg, real pocketsphinx,
// real Parquet read back by DuckDB and hyparquet.
import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRowsDuckDb, readRowsHyparquet, parquetKvMetadata } from '../../pipelines/parquet/index.ts';
import { DEFAULT_TASKS } from '../../pipelines/conversations.ts';
import { COLUMNS } from '../../schemas/sample.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig } from '../helpers.ts';

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

async function shardHashes(out: string): Promise<Record<string, string>> {
  const files = (await readdir(join(out, 'shards'))).sort();
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await sha(join(out, 'shards', f))])));
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('emoforge run on the demo clips', () => {
  let input: string;
  let work: string;
  let out: string;
  let store: string;
  let configFile: string;
  let first: Awaited<ReturnType<typeof cli>>;

  beforeAll(async () => {
    input = await sampleClips(6);
    // Planted bad inputs: each must be rejected with its own reason while the rest succeeds.
    const good = join(input, 'sample_0001.mp4');
    // An MP4 whose container is damaged: its real ftyp header, then garbage where the boxes should be.
    const header = (await readFile(good)).subarray(0, 32);
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 251;
    await writeFile(join(input, 'damaged.mp4'), Buffer.concat([header, garbage]));
    await writeFile(join(input, 'empty.mp4'), '');
    await writeFile(join(input, 'notes.mp4'), 'these are my notes, not a video\n');
    await copyFile(good, join(input, 'copy-of-0001.mp4'));
    work = await tempDir();
    out = join(work, 'out');
    store = join(work, 'store');
    configFile = await writeConfig(work, demoConfig());
    first = await cli(['run', configFile, '--input', input, '--out', out, '--store', store]);
  }, 600_000);

  it('succeeds and writes shards, manifest, rejects, stats and logs', async () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(manifest.shards.length).toBeGreaterThanOrEqual(2);
    for (const shard of manifest.shards) {
      expect(shard.file).toMatch(/^shards\/(train|validation|test)-\d{5}-of-\d{5}\.parquet$/);
      expect(await sha(join(out, shard.file))).toBe(shard.sha256);
      expect((await stat(join(out, shard.file))).size).toBe(shard.bytes);
    }
    expect(manifest.configFingerprint).toMatch(/^[0-9a-f]{64}$/);
    const logs = await readdir(join(out, 'logs'));
    expect(logs.length).toBe(1);
    const lines = (await readFile(join(out, 'logs', logs[0]), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === 'run finished')).toBe(true);
    // Not a TTY: plain lines, no cursor movement.
    expect(first.stdout).not.toContain('\x1b[');
    expect(first.stdout).toContain('partition');
  });

  it('writes rows DuckDB reads with the expected columns, every task and speaker-disjoint splits', async () => {
    const glob = join(out, 'shards', '*.parquet');
    const columns = await query(`DESCRIBE SELECT * FROM read_parquet('${glob}')`);
    expect(columns.map((c) => c.column_name)).toEqual(COLUMNS.map((c) => c.name));
    const rows = await query(
      `SELECT id, segment_id, task, split, speaker, len(conversations) AS turns, conversations[1].value AS human, conversations[2].value AS answer FROM read_parquet('${glob}')`,
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(new Set(rows.map((r) => r.task))).toEqual(new Set(DEFAULT_TASKS));
    // Every segment gives one row of each single-answer task and at least one of each QA kind.
    const bySegment = new Map<unknown, string[]>();
    for (const row of rows) bySegment.set(row.segment_id, [...(bySegment.get(row.segment_id) ?? []), String(row.task)]);
    expect(bySegment.size).toBe(6);
    for (const tasks of bySegment.values()) {
      for (const task of ['description', 'ov_labels', 'mcq', 'rationale']) expect(tasks.filter((t) => t === task)).toHaveLength(1);
      expect(tasks).toContain('open_qa');
      expect(tasks).toContain('attribute_qa');
    }
    for (const row of rows) {
      expect(row.turns).toBeGreaterThanOrEqual(2);
      expect(String(row.human)).toMatch(/^<video>\n<audio>\n/);
      expect(String(row.answer).length).toBeGreaterThan(0);
    }
    const speakerSplits = await query(`SELECT speaker, count(DISTINCT split) AS n FROM read_parquet('${glob}') GROUP BY speaker`);
    expect(speakerSplits.length).toBeGreaterThanOrEqual(3);
    for (const s of speakerSplits) expect(Number(s.n)).toBe(1);
    expect(new Set(rows.map((r) => r.split)).size).toBeGreaterThanOrEqual(2);
  });

  it('reads every shard identically with two independent readers, with Hugging Face features', async () => {
    const manifest = await readJson(join(out, 'manifest.json'));
    for (const shard of manifest.shards) {
      const path = join(out, shard.file);
      const [a, b] = await Promise.all([readRowsHyparquet(path), readRowsDuckDb(path)]);
      expect(a.length).toBe(shard.rows);
      expect(b.length).toBe(shard.rows);
      expect(JSON.parse(JSON.stringify(a))).toEqual(JSON.parse(JSON.stringify(b)));
      const hf = JSON.parse((await parquetKvMetadata(path, 'huggingface'))!);
      expect(Object.keys(hf.info.features)).toEqual(COLUMNS.map((c) => c.name));
    }
  });

  it('rejects the corrupt, empty, non-media and duplicate files with distinct reasons, counted in stats', async () => {
    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    const reasonOf = (uri: string) => rejects.find((r) => r.uri === uri)?.reason;
    expect(reasonOf('damaged.mp4')).toBe('corrupt');
    expect(reasonOf('empty.mp4')).toBe('empty-file');
    expect(reasonOf('notes.mp4')).toBe('not-media');
    expect(reasonOf('copy-of-0001.mp4')).toBe('duplicate');
    for (const r of rejects) expect(r.stage).toBe('ingest');
    const stats = await readJson(join(out, 'stats.json'));
    expect(stats.stages.ingest.dropped).toEqual({ corrupt: 1, 'empty-file': 1, 'not-media': 1, duplicate: 1 });
    expect(stats.stages.ingest.in).toBe(10);
    expect(stats.stages.ingest.out).toBe(6);
    expect(stats.totals.work.asr).toBe(6);
    expect(stats.totals.work.ffmpeg).toBe(6);
  });

  it('explains where a clip went with trace, and shows rows with inspect', async () => {
    const kept = await cli(['trace', out, 'sample_0002.mp4']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/kept → (train|validation|test): \d+ rows \(attribute_qa, .*description, .*mcq, .*open_qa, .*ov_labels, .*rationale\)/);
    const dropped = await cli(['trace', out, 'damaged.mp4']);
    expect(dropped.stdout).toContain('dropped at ingest: corrupt');
    const unknown = await cli(['trace', out, 'no-such-clip.mp4']);
    expect(unknown.code).toBe(1);
    const shown = await cli(['inspect', out, '--rows', '1']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('conversations: list<struct<from: string, value: string>> not null');
    expect(shown.stdout).toContain('rejects: 4');
  });

  it('does no media work and no generation on a second run, and writes byte-identical shards', async () => {
    const before = await shardHashes(out);
    const again = await cli(['run', configFile, '--input', input, '--out', out, '--store', store]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no media work, no ASR, no generation');
    const stats = await readJson(join(out, 'stats.json'));
    expect(stats.totals.work).toEqual({});
    expect(stats.stages.segment.cached).toBe(6);
    expect(await shardHashes(out)).toEqual(before);
  });

  it('packages the tasks the write stage asks for, the Q → R → A form included, with no other work', async () => {
    const file = await writeConfig(await tempDir(), demoConfig({ write: { tasks: ['description', 'qra'] } }));
    const dest = join(await tempDir(), 'out');
    const run = await cli(['run', file, '--input', input, '--out', dest, '--store', store]);
    expect(run.code).toBe(0);
    expect((await readJson(join(dest, 'stats.json'))).totals.work).toEqual({});
    const rows = await query(
      `SELECT task, len(conversations) AS turns, conversations[3].value AS follow_up FROM read_parquet('${join(dest, 'shards', '*.parquet')}')`,
    );
    expect(rows.filter((r) => r.task === 'qra')).toHaveLength(6);
    expect(rows.filter((r) => r.task === 'description')).toHaveLength(6);
    for (const row of rows.filter((r) => r.task === 'qra')) {
      expect(Number(row.turns)).toBe(4);
      expect(row.follow_up).toBe('So what is the emotion?');
    }
  });

  it('reruns only the changed stage and the ones after it', async () => {
    const changed = demoConfig({ qa: { labelSet: ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful', 'disgusted'] } });
    const file = await writeConfig(await tempDir(), changed);
    const run = await cli(['run', file, '--input', input, '--out', out, '--store', store]);
    expect(run.code).toBe(0);
    const stats = await readJson(join(out, 'stats.json'));
    // cues.lexical is cheap and not cached per record; every cached stage before qa must hit.
    for (const stage of ['segment', 'transcribe', 'cues.visual', 'cues.acoustic', 'describe', 'labels']) expect(stats.stages[stage].cached).toBe(6);
    expect(stats.stages.qa.cached).toBe(0);
    expect(stats.stages.rationale.cached).toBe(0);
    expect(stats.totals.work.ffmpeg ?? 0).toBe(0);
    expect(stats.totals.work.asr ?? 0).toBe(0);
    expect(stats.totals.work.teacher).toBe(12);
  });

  // Last: it deletes the store the tests above reuse.
  it('is a dataset on its own: a copy of OUT with the store deleted resolves every media path of every row', async () => {
    const copy = join(await tempDir(), 'copied-out');
    await promisify(execFile)('cp', ['-a', out, copy]);
    await rm(store, { recursive: true, force: true });
    const manifest = await readJson(join(copy, 'manifest.json'));
    const listed = new Map(
      (await readFile(join(copy, manifest.media.index), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((e: { file: string; sha256: string }) => [e.file, e.sha256]),
    );
    let paths = 0;
    for (const shard of manifest.shards) {
      for (const row of await readRowsHyparquet(join(copy, shard.file))) {
        const named = [row.video, row.audio, ...(row.frames as string[]), ...(row.face_crops as string[])].filter((p): p is string => typeof p === 'string');
        expect(named.length).toBeGreaterThanOrEqual(4);
        for (const path of named) {
          expect(path).toMatch(/^media\//);
          expect(await sha(join(copy, path))).toBe(listed.get(path));
          paths++;
        }
      }
    }
    expect(paths).toBeGreaterThan(0);
  });
});
