// Size-targeted, zstd-compressed Parquet shards in the Hugging Face layout
// (`{split}-{i:05d}-of-{n:05d}.parquet`). Rows stream through in row groups, so memory stays at
// one row group whatever the split size. A shard counts only once closed: files are written under
// hidden temporary names, fsynced, and renamed when the split is complete and `n` is known, so a
// crash never leaves a partial file under a final name.
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { KeyValue } from 'hyparquet-writer';
import { huggingFaceMetadata, validateColumns, type ColumnSpec } from './column-spec.ts';
import { ParquetFileWriter, type ParquetFileWriterOptions } from './parquet-file-writer.ts';
import { checkRow } from './row-check.ts';

export type { ColumnSpec, ColumnKind } from './column-spec.ts';

/** A closed shard under its final name. */
export interface ShardFile {
  /** Final file name inside `dir`, e.g. `train-00000-of-00002.parquet`. */
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export type ParquetRow = Record<string, unknown>;
export type RowSource = AsyncIterable<ParquetRow> | Iterable<ParquetRow>;

/** Encoding settings shared by `writeShards` and `writeParquetFile`. */
export interface ParquetEncodingOptions {
  /** Most rows in one row group. Default 1000 (about the `datasets` default; keeps memory near 200 MB). */
  readonly rowGroupRows?: number;
  /** Row group is also cut when its values reach about this many bytes (UTF-16 units). Default 32 MiB. */
  readonly rowGroupBytes?: number;
  /** zstd level for every column, 1–22. Default 3. */
  readonly zstdLevel?: number;
  /** Parquet `created_by`; keep it constant (e.g. `emoforge 0.1.0`) so output is byte-identical. Default `emoforge`. */
  readonly createdBy?: string;
  /** Extra key-value metadata, after the `huggingface` entry (which it may not replace). Default none. */
  readonly kvMetadata?: readonly KeyValue[];
}

export interface WriteShardsOptions extends ParquetEncodingOptions {
  /** Output folder; created if missing. */
  readonly dir: string;
  /** Split name, the shard file prefix (`train`, `val`, ...). Letters, digits, `_`, `.`, `-`. */
  readonly prefix: string;
  readonly columns: readonly ColumnSpec[];
  readonly rows: RowSource;
  /** Roll to a new shard once the current one passes this size (checked after each row group). Default 256 MiB. */
  readonly targetBytes?: number;
}

export const DEFAULT_TARGET_BYTES = 256 * 1024 * 1024;
const DEFAULTS = { rowGroupRows: 1000, rowGroupBytes: 32 * 1024 * 1024, zstdLevel: 3, createdBy: 'emoforge' };

/** `train-00003-of-00010.parquet` */
export function shardFileName(prefix: string, index: number, count: number): string {
  return `${prefix}-${pad5(index)}-of-${pad5(count)}.parquet`;
}

/**
 * Writes `rows` as shards `{prefix}-{i}-of-{n}.parquet` in `dir` and returns them in order.
 * Zero rows write no file and return `[]`. The output for (`dir`, `prefix`) is exactly the
 * returned set: shards of this prefix left by an earlier run (another `n`) are removed once the
 * new ones are in place. One writer per (`dir`, `prefix`) at a time.
 */
export async function writeShards(options: WriteShardsOptions): Promise<ShardFile[]> {
  const { dir, prefix, columns, rows } = options;
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(prefix)) {
    throw new TypeError(`prefix must be a split name (letters, digits, _ . -), got ${JSON.stringify(prefix)}`);
  }
  const targetBytes = positiveInteger('targetBytes', options.targetBytes, DEFAULT_TARGET_BYTES);
  const encoding = encodingSettings(options, columns);

  await mkdir(dir, { recursive: true });
  await removeMatching(dir, new RegExp(`^\\.${escapeRegExp(prefix)}-\\d{5}\\.parquet\\.partial$`));

  const closed: { path: string; rows: number; bytes: number; sha256: string }[] = [];
  let current: ParquetFileWriter | undefined;
  const writeGroup = async (group: ParquetRow[]): Promise<void> => {
    current ??= await ParquetFileWriter.open(join(dir, `.${prefix}-${pad5(closed.length)}.parquet.partial`), encoding.file);
    await current.writeRowGroup(group);
    if (current.bytes >= targetBytes) {
      closed.push(await current.close());
      current = undefined;
    }
  };

  try {
    await forEachRowGroup(rows, columns, encoding, writeGroup);
    if (current) closed.push(await current.close());
    current = undefined;
  } catch (error) {
    await current?.abort();
    await Promise.all(closed.map((file) => rm(file.path, { force: true })));
    throw error;
  }

  const shards = closed.map((file, i) => ({
    file: shardFileName(prefix, i, closed.length),
    rows: file.rows,
    bytes: file.bytes,
    sha256: file.sha256,
  }));
  for (let i = 0; i < closed.length; i++) await rename(closed[i].path, join(dir, shards[i].file));
  const currentNames = new Set(shards.map((shard) => shard.file));
  const stale = new RegExp(`^${escapeRegExp(prefix)}-\\d{5}-of-\\d{5}\\.parquet$`);
  await removeMatching(dir, stale, currentNames);
  await syncDirectory(dir);
  return shards;
}

/**
 * Writes one Parquet file at `path` (e.g. `rejects.parquet`) atomically: temp file, fsync, rename.
 * Zero rows still write a valid file with the schema and metadata.
 */
export async function writeParquetFile(
  path: string,
  columns: readonly ColumnSpec[],
  rows: RowSource,
  kvMetadata?: readonly KeyValue[],
  options: Omit<ParquetEncodingOptions, 'kvMetadata'> = {},
): Promise<{ rows: number; bytes: number; sha256: string }> {
  const encoding = encodingSettings({ ...options, kvMetadata }, columns);
  await mkdir(dirname(path), { recursive: true });
  const file = await ParquetFileWriter.open(join(dirname(path), `.${basename(path)}.partial`), encoding.file);
  let closed;
  try {
    await forEachRowGroup(rows, columns, encoding, (group) => file.writeRowGroup(group));
    closed = await file.close();
  } catch (error) {
    await file.abort();
    throw error;
  }
  await rename(closed.path, path);
  await syncDirectory(dirname(path));
  return { rows: closed.rows, bytes: closed.bytes, sha256: closed.sha256 };
}

interface EncodingSettings {
  readonly rowGroupRows: number;
  readonly rowGroupBytes: number;
  readonly file: ParquetFileWriterOptions;
}

function encodingSettings(options: ParquetEncodingOptions, columns: readonly ColumnSpec[]): EncodingSettings {
  validateColumns(columns);
  const zstdLevel = positiveInteger('zstdLevel', options.zstdLevel, DEFAULTS.zstdLevel);
  if (zstdLevel > 22) throw new RangeError(`zstdLevel must be 1–22, got ${zstdLevel}`);
  const createdBy = options.createdBy ?? DEFAULTS.createdBy;
  if (typeof createdBy !== 'string' || createdBy === '') {
    throw new TypeError(`createdBy must be a non-empty string, got ${JSON.stringify(createdBy)}`);
  }
  const extra = options.kvMetadata ?? [];
  const clash = extra.find((entry) => entry.key === 'huggingface');
  if (clash) throw new TypeError('kvMetadata may not set "huggingface": it is derived from the columns');
  return {
    rowGroupRows: positiveInteger('rowGroupRows', options.rowGroupRows, DEFAULTS.rowGroupRows),
    rowGroupBytes: positiveInteger('rowGroupBytes', options.rowGroupBytes, DEFAULTS.rowGroupBytes),
    file: { columns, kvMetadata: [huggingFaceMetadata(columns), ...extra], createdBy, zstdLevel },
  };
}

/** Pulls rows one at a time, checks them, and hands over row groups; never holds more than one. */
async function forEachRowGroup(
  rows: RowSource,
  columns: readonly ColumnSpec[],
  settings: EncodingSettings,
  write: (group: ParquetRow[]) => Promise<void>,
): Promise<void> {
  let group: ParquetRow[] = [];
  let groupBytes = 0;
  let rowNumber = 0;
  for await (const row of rows) {
    groupBytes += checkRow(row, columns, rowNumber++);
    group.push(row);
    if (group.length >= settings.rowGroupRows || groupBytes >= settings.rowGroupBytes) {
      await write(group);
      group = [];
      groupBytes = 0;
    }
  }
  if (group.length) await write(group);
}

async function removeMatching(dir: string, pattern: RegExp, keep: ReadonlySet<string> = new Set()): Promise<void> {
  for (const name of await readdir(dir)) {
    if (pattern.test(name) && !keep.has(name)) await rm(join(dir, name), { force: true });
  }
}

/** Makes the renames durable; some platforms cannot fsync a directory, which is harmless there. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${option} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
