// The Parquet layer against real libraries: shards written by hyparquet-writer are read back by
// hyparquet (JS), DuckDB (C++) and parquet-wasm (arrow-rs), and must agree value for value.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../../pipelines/fingerprint.ts';
import {
  parquetInfo,
  parquetKvMetadata,
  ParquetRowError,
  readRowsDuckDb,
  readRowsHyparquet,
  writeParquetFile,
  writeShards,
  type ColumnSpec,
  type ShardFile,
} from '../../../pipelines/parquet/index.ts';
import { COLUMNS, type Sample } from '../../../schemas/sample.ts';

// COLUMNS from the sample schema must be a valid column spec for the generic writer.
const SAMPLE_COLUMNS: readonly ColumnSpec[] = COLUMNS;

const TRICKY_TEXT = [
  'plain ascii',
  'quotes "double" and \'single\' and `back`',
  'emoji 😀🎉👩‍👩‍👧 and flags 🇯🇵',
  'CJK 感情认识 and RTL مرحبا and combining é',
  'newline\nand\ttab and backslash \\ and NUL \u0000 inside',
  '',
  'a very long line '.repeat(40),
];

function sampleRow(i: number): Sample {
  const hex = (seed: number) => seed.toString(16).padStart(8, '0').repeat(8);
  const turns = 2 + (i % 3);
  return {
    id: hex(i),
    clip_id: hex(i >> 3),
    segment_id: hex(i * 7),
    name: `clip-${i} ${TRICKY_TEXT[i % TRICKY_TEXT.length].slice(0, 20) || 'x'}`,
    uri: `clips/${i % 13}/clip-${i}.mp4`,
    start: i * 0.125,
    end: i * 0.125 + 3.3333333333333335,
    speaker: i % 4 === 0 ? null : `speaker-${i % 17}`,
    label: i % 5 === 0 ? null : TRICKY_TEXT[i % TRICKY_TEXT.length],
    transcript: TRICKY_TEXT[(i * 3) % TRICKY_TEXT.length],
    language: i % 2 ? 'en' : 'ja',
    primary_emotion: ['joy', 'anger', 'sadness', 'neutral'][i % 4],
    openset: i % 6 === 0 ? [] : ['warm', 'tense "edgy"', '😀'].slice(0, 1 + (i % 3)),
    sentiment: ['positive', 'neutral', 'negative'][i % 3],
    valence: ((i % 201) - 100) / 100,
    arousal: i % 11 === 0 ? 1e-300 : Math.sin(i) * 0.999,
    task: (['description', 'ov_labels', 'mcq', 'rationale'] as const)[i % 4],
    conversations: Array.from({ length: turns }, (_, t) => ({
      from: t % 2 === 0 ? ('human' as const) : ('gpt' as const),
      value: t === 0 ? `<video>\n<audio>\nWhat does the speaker feel? #${i}` : `${TRICKY_TEXT[(i + t) % TRICKY_TEXT.length]} (${i}.${t})`,
    })),
    video: i % 4 === 1 ? null : `media/video/${hex(i)}.mp4`,
    audio: i % 3 === 0 ? null : `media/audio/${hex(i)}.wav`,
    frames: i % 7 === 0 ? [] : Array.from({ length: 1 + (i % 4) }, (_, f) => `media/frames/${hex(i)}/${f}.jpg`),
    face_crops: i % 5 === 0 ? [] : [`media/faces/${hex(i)}/00.jpg`],
    conflict: i % 9 === 0 ? null : (['consistent', 'video-aligned', 'audio-aligned', 'text-aligned', 'ambiguous'] as const)[i % 5],
    cues: JSON.stringify({ f0: i % 300, energy: i / 7, words: ['"hi"', '😀'] }),
    teacher: 'rules',
    model: 'rules-v1',
    template: 'description@1',
    split: 'train',
    transcript_en: i % 2 ? null : `English #${i}`,
    label_source: i % 3 ? null : JSON.stringify({ corpus: 'meld', label: 'joy' }),
    official_split: i % 3 ? null : 'test',
    review: i % 3 === 0 ? 'accepted' : 'none',
    review_hash: i % 3 === 0 ? hex(i + 1) : null,
    speaker_track: i % 2 === 0 ? `face-${1 + (i % 3)}` : null,
    speaker_confidence: i % 2 === 0 ? (i % 100) / 100 : null,
    speaker_method: i % 2 === 0 ? 'av-correlation' : 'no-speech',
    faces: i % 4,
    peak_frame: i % 2 === 0 ? `media/frames/${hex(i).slice(0, 2)}/${hex(i)}/peak.jpg` : null,
    peak_time: i % 2 === 0 ? (i % 40) / 10 : null,
  };
}

const ROW_COUNT = 2500;
const ROWS = Array.from({ length: ROW_COUNT }, (_, i) => sampleRow(i));

async function* streamRows<T>(rows: readonly T[]): AsyncGenerator<T> {
  for (const row of rows) yield row;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-parquet-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeShards', () => {
  let dir: string;
  let shards: ShardFile[];
  const targetBytes = 32 * 1024;

  beforeAll(async () => {
    dir = join(root, 'corpus');
    shards = await writeShards({ dir, prefix: 'train', columns: SAMPLE_COLUMNS, rows: streamRows(ROWS), targetBytes, rowGroupRows: 150 });
  });

  it('rolls to several shards named {split}-{i}-of-{n} with the right n', async () => {
    expect(shards.length).toBeGreaterThan(2);
    const n = String(shards.length).padStart(5, '0');
    expect(shards.map((s) => s.file)).toEqual(shards.map((_, i) => `train-${String(i).padStart(5, '0')}-of-${n}.parquet`));
    expect((await readdir(dir)).sort()).toEqual(shards.map((s) => s.file));
    expect(shards.reduce((sum, s) => sum + s.rows, 0)).toBe(ROW_COUNT);
    // every shard but the last was closed only after passing the target
    for (const shard of shards.slice(0, -1)) expect(shard.bytes).toBeGreaterThanOrEqual(targetBytes);
  });

  it("reports each shard's real size and sha256", async () => {
    for (const shard of shards) {
      const info = await parquetInfo(join(dir, shard.file));
      expect(info.bytes).toBe(shard.bytes);
      expect(info.rows).toBe(shard.rows);
      expect(await sha256File(join(dir, shard.file))).toBe(shard.sha256);
    }
  });

  it('reads back every value identically with hyparquet and DuckDB', async () => {
    const fromHyparquet: unknown[] = [];
    const fromDuckDb: unknown[] = [];
    for (const shard of shards) {
      const path = join(dir, shard.file);
      const a = await readRowsHyparquet(path);
      const b = await readRowsDuckDb(path);
      expect(a).toHaveLength(shard.rows);
      expect(b).toHaveLength(shard.rows);
      fromHyparquet.push(...a);
      fromDuckDb.push(...b);
    }
    expect(fromHyparquet).toEqual(ROWS);
    expect(fromDuckDb).toEqual(ROWS);
  });

  it('writes proper Parquet types, zstd everywhere, and Hugging Face features', async () => {
    const path = join(dir, shards[0].file);
    const info = await parquetInfo(path);
    expect(info.codecs).toEqual(['ZSTD']);
    expect(info.rowGroups).toBeGreaterThan(1);
    expect(info.createdBy).toBe('emoforge');
    const byName = Object.fromEntries(info.columns.map((c) => [c.name, c]));
    expect(byName.id).toEqual({ name: 'id', type: 'string', nullable: false });
    expect(byName.speaker).toEqual({ name: 'speaker', type: 'string', nullable: true });
    expect(byName.valence.type).toBe('double');
    expect(byName.openset.type).toBe('list<string>');
    expect(byName.conversations.type).toBe('list<struct<from: string, value: string>>');

    const hf = JSON.parse((await parquetKvMetadata(path, 'huggingface'))!);
    const value = { dtype: 'string', _type: 'Value' };
    expect(Object.keys(hf.info.features)).toEqual(COLUMNS.map((c) => c.name));
    expect(hf.info.features.id).toEqual(value);
    expect(hf.info.features.start).toEqual({ dtype: 'float64', _type: 'Value' });
    expect(hf.info.features.openset).toEqual([value]);
    expect(hf.info.features.conversations).toEqual([{ from: value, value }]);
  });

  it('is read by DuckDB with native list and struct types', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${join(dir, 'train-*.parquet')}')`);
    const types = Object.fromEntries(described.getRowObjectsJS().map((r) => [r.column_name, r.column_type]));
    const count = await connection.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${join(dir, 'train-*.parquet')}')`);
    connection.closeSync();
    instance.closeSync();
    expect(types.conversations).toBe('STRUCT("from" VARCHAR, "value" VARCHAR)[]');
    expect(types.openset).toBe('VARCHAR[]');
    expect(types.valence).toBe('DOUBLE');
    expect(count.getRowObjectsJS()[0].n).toBe(ROW_COUNT);
  });

  it('is read by arrow-rs (parquet-wasm) with the Hugging Face metadata on the Arrow schema', async () => {
    const bytes = new Uint8Array(await readFile(join(dir, shards[0].file)));
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    expect(table.numRows).toBe(shards[0].rows);
    expect(String(table.schema.fields.find((f) => f.name === 'conversations')!.type)).toMatch(/^List<Struct<\{from:.*Utf8.*value:.*Utf8/);
    expect(table.schema.metadata.get('huggingface')).toContain('"conversations"');
    expect(
      table
        .getChild('conversations')!
        .get(0)!
        .toArray()
        .map((t: { toJSON(): unknown }) => t.toJSON()),
    ).toEqual(ROWS[0].conversations);
  });

  it('gives byte-identical shards when the same rows are written again', async () => {
    const again = await writeShards({ dir: join(root, 'corpus-again'), prefix: 'train', columns: SAMPLE_COLUMNS, rows: ROWS, targetBytes, rowGroupRows: 150 });
    expect(again).toEqual(shards);
  });
});

describe('writeShards edge cases', () => {
  it('writes no file for zero rows', async () => {
    const dir = join(root, 'empty');
    expect(await writeShards({ dir, prefix: 'val', columns: SAMPLE_COLUMNS, rows: [] })).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('replaces shards and leftovers of an earlier run of the same split, and leaves other splits alone', async () => {
    const dir = join(root, 'rerun');
    const first = await writeShards({ dir, prefix: 'train', columns: SAMPLE_COLUMNS, rows: ROWS.slice(0, 600), targetBytes: 16 * 1024, rowGroupRows: 50 });
    await writeShards({ dir, prefix: 'test', columns: SAMPLE_COLUMNS, rows: ROWS.slice(0, 10) });
    await writeFile(join(dir, '.train-00000.parquet.partial'), 'left by a crash');
    expect(first.length).toBeGreaterThan(1);
    const second = await writeShards({ dir, prefix: 'train', columns: SAMPLE_COLUMNS, rows: ROWS.slice(0, 10) });
    expect(second.map((s) => s.file)).toEqual(['train-00000-of-00001.parquet']);
    expect((await readdir(dir)).sort()).toEqual(['test-00000-of-00001.parquet', 'train-00000-of-00001.parquet']);
  });

  it('leaves no file behind when the row source fails midway', async () => {
    const dir = join(root, 'crash');
    async function* failing() {
      yield* ROWS.slice(0, 400);
      throw new Error('source broke');
    }
    await expect(writeShards({ dir, prefix: 'train', columns: SAMPLE_COLUMNS, rows: failing(), targetBytes: 16 * 1024, rowGroupRows: 50 })).rejects.toThrow(
      'source broke',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a row that does not match the spec, naming the row and column', async () => {
    const bad = { ...ROWS[1], conversations: [{ from: 'human', value: 42 }] };
    const run = writeShards({ dir: join(root, 'bad'), prefix: 'train', columns: SAMPLE_COLUMNS, rows: [ROWS[0], bad] });
    await expect(run).rejects.toBeInstanceOf(ParquetRowError);
    await expect(writeShards({ dir: join(root, 'bad'), prefix: 'train', columns: SAMPLE_COLUMNS, rows: [ROWS[0], bad] })).rejects.toThrow(
      'row 1, column "conversations" (list<turn>) element 0 field "value" is number 42, expected a string',
    );
    const surrogate = { ...ROWS[0], transcript: 'broken \ud83d' };
    await expect(writeShards({ dir: join(root, 'bad'), prefix: 'train', columns: SAMPLE_COLUMNS, rows: [surrogate] })).rejects.toThrow('lone UTF-16 surrogate');
    expect(await readdir(join(root, 'bad'))).toEqual([]);
  });

  it('names the bad option', async () => {
    await expect(writeShards({ dir: root, prefix: 'train/x', columns: SAMPLE_COLUMNS, rows: [] })).rejects.toThrow('prefix');
    await expect(writeShards({ dir: root, prefix: 'train', columns: SAMPLE_COLUMNS, rows: [], targetBytes: 0 })).rejects.toThrow(
      'targetBytes must be a positive integer, got 0',
    );
  });
});

describe('writeParquetFile', () => {
  const REJECT_COLUMNS: readonly ColumnSpec[] = [
    { name: 'clip_id', kind: 'string', nullable: false, description: 'clip' },
    { name: 'segment_id', kind: 'string', nullable: true, description: 'segment, when the drop happened after segmenting' },
    { name: 'stage', kind: 'string', nullable: false, description: 'stage that dropped the record' },
    { name: 'reason', kind: 'string', nullable: false, description: 'short reason' },
    { name: 'detail', kind: 'string', nullable: false, description: 'what happened' },
    { name: 'flags', kind: 'list<string>', nullable: true, description: 'quality flags' },
  ];

  it('writes a zero-row rejects file that DuckDB and hyparquet can read', async () => {
    const path = join(root, 'run', 'rejects.parquet');
    const written = await writeParquetFile(path, REJECT_COLUMNS, [], [{ key: 'emoforge', value: '{"schema":1}' }]);
    expect(written.rows).toBe(0);
    expect(await sha256File(path)).toBe(written.sha256);
    expect(await readRowsDuckDb(path)).toEqual([]);
    expect(await readRowsHyparquet(path)).toEqual([]);
    const info = await parquetInfo(path);
    expect(info.columns.map((c) => c.name)).toEqual(REJECT_COLUMNS.map((c) => c.name));
    expect(info.kvMetadataKeys).toEqual(['huggingface', 'emoforge']);
    expect(await readdir(join(root, 'run'))).toEqual(['rejects.parquet']);
  });

  it('round-trips nullable lists and extra metadata', async () => {
    const path = join(root, 'run2', 'rejects.parquet');
    const rows = [
      { clip_id: 'c1', segment_id: null, stage: 'ingest', reason: 'unreadable', detail: 'ffprobe: "moov atom not found" 😀', flags: null },
      { clip_id: 'c2', segment_id: 's2', stage: 'filter', reason: 'too-short', detail: '', flags: [] },
      { clip_id: 'c3', segment_id: 's3', stage: 'filter', reason: 'lang', detail: 'fr', flags: ['a', 'b'] },
    ];
    const written = await writeParquetFile(path, REJECT_COLUMNS, rows, [{ key: 'emoforge', value: '{"schema":1}' }]);
    expect(written.rows).toBe(3);
    expect(await readRowsHyparquet(path)).toEqual(rows);
    expect(await readRowsDuckDb(path)).toEqual(rows);
    expect(await parquetKvMetadata(path, 'emoforge')).toBe('{"schema":1}');
  });
});
