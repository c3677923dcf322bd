// Parquet writer benchmark: the same deterministic training rows (schemas/sample.ts COLUMNS) written
// by (a) our shard writer (hyparquet-writer + zstd-wasm), (b) parquet-wasm streaming (arrow-rs),
// (c) DuckDB (NDJSON → COPY ... FORMAT parquet). Each writer runs in its own child process so its
// peak RSS (getrusage maxrss) is its own; a `generate` baseline shows the cost of making the rows.
//
//   npx tsx scripts/bench/parquet.ts [--rows 100000] [--row-group 1000] [--keep DIR]
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COLUMNS, type Sample } from '../../schemas/sample.ts';
import { mulberry32 } from '../../pipelines/random.ts';

const WRITERS = ['generate', 'ours', 'parquet-wasm', 'duckdb'] as const;
type WriterName = (typeof WRITERS)[number];

interface Measurement {
  readonly writer: WriterName;
  readonly rows: number;
  readonly ms: number;
  readonly maxRssMb: number;
  readonly bytes: number;
}

// ---------------------------------------------------------------- deterministic rows

const EMOTIONS = ['joy', 'anger', 'sadness', 'fear', 'surprise', 'disgust', 'neutral', 'contempt'];
const OPENSET = ['warm', 'tense', 'wistful', 'irritated', 'elated', 'anxious', 'calm', 'resigned', 'playful', 'bitter', 'hopeful', 'weary'];
const SYLLABLES = ['ka', 'lo', 'mi', 'ran', 'te', 'su', 'vin', 'or', 'el', 'pa', 'qui', 'dan', 'so', 'ber', 'ny', 'fa', 'tho', 'le', 'gar', 'in'];
const TEMPLATES = [
  '<video>\n<audio>\nDescribe the emotional state of the speaker in this clip, using both facial expression and tone of voice.',
  '<video>\n<audio>\nList every emotion word that fits the person in the video. Answer with comma-separated words.',
  '<video>\n<audio>\nWhich emotion best describes the speaker? Options: (A) joy (B) anger (C) sadness (D) neutral.',
  "<video>\n<audio>\nExplain step by step which visual and acoustic cues support your reading of the speaker's emotion.",
];

function makeVocabulary(random: () => number): string[] {
  const words = new Set<string>(['the', 'a', 'and', 'of', 'to', 'I', 'you', 'it', 'was', 'is', 'that', 'really', 'just', 'not']);
  while (words.size < 2000) {
    let word = '';
    const parts = 1 + Math.floor(random() * 3);
    for (let i = 0; i < parts; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

export function* benchRows(count: number, seed = 42): Generator<Sample> {
  const random = mulberry32(seed);
  const vocabulary = makeVocabulary(random);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const hex = (): string => {
    let out = '';
    for (let i = 0; i < 8; i++)
      out += Math.floor(random() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return out;
  };
  const sentence = (minChars: number, maxChars: number): string => {
    const target = minChars + Math.floor(random() * (maxChars - minChars));
    const words: string[] = [];
    let length = 0;
    while (length < target) {
      const word = random() < 0.02 ? '😀' : random() < 0.05 ? pick(EMOTIONS) : pick(vocabulary);
      words.push(word);
      length += word.length + 1;
    }
    return `${words.join(' ')}.`;
  };
  let clip = hex();
  let start = 0;
  for (let i = 0; i < count; i++) {
    if (i % 8 === 0) {
      clip = hex();
      start = 0;
    }
    const duration = 1 + random() * 9;
    const templateIndex = Math.floor(random() * TEMPLATES.length);
    const turns = 2 + Math.floor(random() * 3);
    const segment = hex();
    yield {
      id: hex(),
      clip_id: clip,
      segment_id: segment,
      name: `clip_${clip.slice(0, 10)}`,
      uri: `raw/session${i % 40}/clip_${clip.slice(0, 10)}.mp4`,
      start,
      end: start + duration,
      speaker: random() < 0.1 ? null : `spk_${Math.floor(random() * 500)}`,
      label: random() < 0.5 ? null : pick(EMOTIONS),
      transcript: sentence(150, 400),
      language: random() < 0.8 ? 'en' : 'es',
      primary_emotion: pick(EMOTIONS),
      openset: Array.from({ length: Math.floor(random() * 5) }, () => pick(OPENSET)),
      sentiment: pick(['positive', 'neutral', 'negative']),
      valence: Math.round((random() * 2 - 1) * 1000) / 1000,
      arousal: Math.round((random() * 2 - 1) * 1000) / 1000,
      task: (['description', 'ov_labels', 'mcq', 'rationale'] as const)[templateIndex],
      conversations: Array.from({ length: turns }, (_, t) => ({
        from: t % 2 === 0 ? ('human' as const) : ('gpt' as const),
        value: t === 0 ? TEMPLATES[templateIndex] : t % 2 === 0 ? `Follow-up: ${sentence(40, 160)}` : sentence(200, 600),
      })),
      video: `media/video/${segment.slice(0, 2)}/${segment}.mp4`,
      audio: random() < 0.05 ? null : `media/audio/${segment.slice(0, 2)}/${segment}.wav`,
      frames: Array.from({ length: 4 + Math.floor(random() * 5) }, (_, f) => `media/frames/${segment.slice(0, 2)}/${segment}/${f}.jpg`),
      face_crops: Array.from({ length: Math.floor(random() * 5) }, (_, f) => `media/faces/${segment.slice(0, 2)}/${segment}/${f}.jpg`),
      conflict: pick(['consistent', 'video-aligned', 'audio-aligned', 'text-aligned', 'ambiguous'] as const),
      cues: JSON.stringify({
        acoustic: {
          f0_mean: Math.round(random() * 300 * 10) / 10,
          f0_std: Math.round(random() * 60 * 10) / 10,
          energy: Math.round(random() * 1000) / 1000,
          rate: Math.round(random() * 60) / 10,
          pauses: Math.floor(random() * 6),
        },
        lexical: { sentiment: Math.round((random() * 2 - 1) * 1000) / 1000 },
        visual: Object.fromEntries(EMOTIONS.slice(0, 7).map((e) => [e, Math.round(random() * 1000) / 1000])),
      }),
      transcript_en: null,
      label_source: null,
      official_split: null,
      teacher: 'rules',
      model: 'rules-v1',
      template: `${(['description', 'ov_labels', 'mcq', 'rationale'] as const)[templateIndex]}@1`,
      split: 'train',
      review: 'none',
      review_hash: null,
      speaker_track: i % 2 === 0 ? 'face-1' : null,
      speaker_confidence: i % 2 === 0 ? 0.7 : null,
      speaker_method: 'av-correlation',
      faces: 2,
      peak_frame: null,
      peak_time: i % 2 === 0 ? 1.25 : null,
    };
    start += duration;
  }
}

// ---------------------------------------------------------------- writers (child side)

/** Baseline: the cost of generating the rows, which every writer below pays too. */
async function runGenerate(rows: number): Promise<number> {
  for (const row of benchRows(rows)) void row;
  return 0;
}

async function runOurs(rows: number, dir: string, rowGroup: number): Promise<number> {
  const { writeShards } = await import('../../pipelines/parquet/index.ts');
  const shards = await writeShards({ dir, prefix: 'train', columns: COLUMNS, rows: benchRows(rows), rowGroupRows: rowGroup });
  return shards.reduce((sum, shard) => sum + shard.bytes, 0);
}

async function runParquetWasm(rows: number, dir: string, rowGroup: number): Promise<number> {
  const arrow = await import('apache-arrow');
  const wasm = await import('parquet-wasm');
  const { huggingFaceMetadata } = await import('../../pipelines/parquet/column-spec.ts');
  const { Field, List, Struct, Utf8, Float64, Schema, makeData, RecordBatch: ArrowBatch, tableToIPC, Table: ArrowTable, vectorFromArray } = arrow;

  const turn = new Struct([new Field('from', new Utf8(), false), new Field('value', new Utf8(), false)]);
  const typeFor = (kind: string) =>
    kind === 'string'
      ? new Utf8()
      : kind === 'double'
        ? new Float64()
        : kind === 'list<string>'
          ? new List(new Field('element', new Utf8(), false))
          : new List(new Field('element', turn, false));
  const schema = new Schema(COLUMNS.map((c) => new Field(c.name, typeFor(c.kind), c.nullable)));

  const hf = huggingFaceMetadata(COLUMNS);
  const properties = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroup)
    .setCreatedBy('emoforge bench')
    .setKeyValueMetadata(new Map([[hf.key, hf.value]]))
    .build();

  const source = benchRows(rows);
  let sent = false;
  const batches = new ReadableStream({
    pull(controller) {
      const group: Sample[] = [];
      while (group.length < rowGroup) {
        const next = source.next();
        if (next.done) break;
        group.push(next.value);
      }
      // the writer takes its schema from the first batch, so zero rows still send one empty batch
      if (!group.length && sent) {
        controller.close();
        return;
      }
      sent = true;
      const children = schema.fields.map((field) => vectorFromArray(group.map((row) => row[field.name as keyof Sample]) as never, field.type).data[0]);
      const struct = makeData({ type: new Struct(schema.fields), length: group.length, nullCount: 0, children });
      const ipc = tableToIPC(new ArrowTable([new ArrowBatch(schema, struct)]), 'stream');
      const table = wasm.Table.fromIPCStream(ipc);
      // each wasm batch is moved into the writer stream; the table wrapper is freed here
      for (const batch of table.recordBatches()) controller.enqueue(batch);
      table.free();
    },
  });

  const out = join(dir, 'train-00000-of-00001.parquet');
  const bytes = (await wasm.transformParquetStream(batches, properties)) as ReadableStream<Uint8Array>;
  const handle = await open(out, 'w');
  try {
    for await (const chunk of bytes) await handle.write(chunk);
  } finally {
    await handle.close();
  }
  return (await stat(out)).size;
}

async function runDuckDb(rows: number, dir: string, rowGroup: number): Promise<number> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { huggingFaceMetadata } = await import('../../pipelines/parquet/column-spec.ts');
  const jsonl = join(dir, 'rows.jsonl');
  const handle = await open(jsonl, 'w');
  let chunk: string[] = [];
  for (const row of benchRows(rows)) {
    chunk.push(JSON.stringify(row));
    if (chunk.length >= 1000) {
      await handle.write(`${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  if (chunk.length) await handle.write(`${chunk.join('\n')}\n`);
  await handle.close();

  const sqlType = (kind: string) =>
    kind === 'string' ? 'VARCHAR' : kind === 'double' ? 'DOUBLE' : kind === 'list<string>' ? 'VARCHAR[]' : 'STRUCT("from" VARCHAR, "value" VARCHAR)[]';
  const columns = COLUMNS.map((c) => `"${c.name}": '${sqlType(c.kind)}'`).join(', ');
  const hf = huggingFaceMetadata(COLUMNS).value.replaceAll("'", "''");
  const out = join(dir, 'train-00000-of-00001.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT * FROM read_json('${jsonl}', format = 'newline_delimited', columns = {${columns}}))
     TO '${out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup}, KV_METADATA {huggingface: '${hf}'})`,
  );
  connection.closeSync();
  instance.closeSync();
  await rm(jsonl);
  return (await stat(out)).size;
}

async function child(writer: WriterName, rows: number, dir: string, rowGroup: number): Promise<void> {
  // Module loading is not what we compare: load everything the writer needs before the clock starts.
  await Promise.all(
    writer === 'ours'
      ? [import('../../pipelines/parquet/index.ts')]
      : writer === 'parquet-wasm'
        ? [import('apache-arrow'), import('parquet-wasm'), import('../../pipelines/parquet/column-spec.ts')]
        : writer === 'duckdb'
          ? [import('@duckdb/node-api'), import('../../pipelines/parquet/column-spec.ts')]
          : [],
  );
  const started = performance.now();
  const bytes =
    writer === 'generate'
      ? await runGenerate(rows)
      : writer === 'ours'
        ? await runOurs(rows, dir, rowGroup)
        : writer === 'parquet-wasm'
          ? await runParquetWasm(rows, dir, rowGroup)
          : await runDuckDb(rows, dir, rowGroup);
  const ms = performance.now() - started;
  const measurement: Measurement = { writer, rows, ms, maxRssMb: process.resourceUsage().maxRSS / 1024, bytes };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

// ---------------------------------------------------------------- parent: run each writer, print a table

function runChild(writer: WriterName, rows: number, dir: string, rowGroup: number): Promise<Measurement> {
  const script = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, script, '--child', writer, '--rows', String(rows), '--out', dir, '--row-group', String(rowGroup)];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    proc.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1);
      if (code !== 0 || !last) reject(new Error(`bench child ${writer} exited with ${code}: ${stdout}`));
      else resolve(JSON.parse(last) as Measurement);
    });
  });
}

async function countRows(dir: string): Promise<number> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet'));
  if (!files.length) return 0;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const result = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${join(dir, '*.parquet')}')`);
  connection.closeSync();
  instance.closeSync();
  return Number(result.getRowObjectsJS()[0].n);
}

function table(results: readonly (Measurement & { checked: number })[]): string {
  const ours = results.find((r) => r.writer === 'ours')!;
  const ratio = (value: number, base: number) => (base > 0 ? `${(value / base).toFixed(2)}×` : '—');
  const header = ['writer', 'rows', 'time s', 'vs ours', 'peak RSS MB', 'vs ours', 'size MB', 'vs ours', 'rows read back'];
  const lines = results.map((r) => [
    r.writer,
    String(r.rows),
    (r.ms / 1000).toFixed(2),
    ratio(r.ms, ours.ms),
    r.maxRssMb.toFixed(0),
    ratio(r.maxRssMb, ours.maxRssMb),
    r.writer === 'generate' ? '—' : (r.bytes / 1e6).toFixed(1),
    r.writer === 'generate' ? '—' : ratio(r.bytes, ours.bytes),
    r.writer === 'generate' ? '—' : String(r.checked),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      'row-group': { type: 'string', default: '1000' },
      child: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const rowGroup = Number(values['row-group']);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`--rows must be a non-negative integer, got ${values.rows}`);
  if (!Number.isSafeInteger(rowGroup) || rowGroup <= 0) throw new RangeError(`--row-group must be a positive integer, got ${values['row-group']}`);

  if (values.child) {
    if (!WRITERS.includes(values.child as WriterName)) throw new Error(`unknown writer ${values.child}`);
    await child(values.child as WriterName, rows, values.out!, rowGroup);
    return;
  }

  const root = values.keep ?? (await mkdtemp(join(tmpdir(), 'emoforge-bench-parquet-')));
  const results: (Measurement & { checked: number })[] = [];
  try {
    for (const writer of WRITERS) {
      const dir = join(root, writer);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      process.stderr.write(`${writer}: writing ${rows} rows...\n`);
      const measurement = await runChild(writer, rows, dir, rowGroup);
      results.push({ ...measurement, checked: writer === 'generate' ? 0 : await countRows(dir) });
    }
  } finally {
    if (!values.keep) await rm(root, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nParquet writers, ${rows} rows of schemas/sample.ts, zstd, row groups of ${rowGroup} (each writer in its own process; RSS = getrusage maxrss)\n\n`,
  );
  process.stdout.write(`${table(results)}\n`);
}

await main();
