// Two independent Parquet readers (hyparquet in JS, DuckDB in C++) and a file summary. Tests read
// every shard with both, so a file one ecosystem misreads cannot pass; `emoforge inspect` uses the
// summary. Both readers load the whole file: they are for checks and inspection, not for training.
import { readFile } from 'node:fs/promises';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { FileMetaData, SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

export type ReadRow = Record<string, unknown>;

// Fatal: a byte sequence that is not UTF-8 fails loudly instead of becoming U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** All rows as plain JS objects, read with hyparquet (ZSTD via hyparquet-compressors). */
export async function readRowsHyparquet(path: string): Promise<ReadRow[]> {
  const file = await readArrayBuffer(path);
  return parquetReadObjects({
    file,
    compressors,
    // UTF8-annotated columns decode through the strict parser; unannotated byte arrays stay bytes.
    utf8: false,
    parsers: { stringFromBytes: (bytes: Uint8Array) => bytes && utf8.decode(bytes) },
  });
}

/** All rows as plain JS objects (lists as arrays, structs as objects), read with DuckDB. */
export async function readRowsDuckDb(path: string): Promise<ReadRow[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(path)})`);
    return reader.getRowObjectsJS() as ReadRow[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export interface ParquetColumnInfo {
  readonly name: string;
  /** e.g. `string`, `double`, `list<string>`, `list<struct<from: string, value: string>>` */
  readonly type: string;
  readonly nullable: boolean;
}

export interface ParquetInfo {
  readonly bytes: number;
  readonly rows: number;
  readonly rowGroups: number;
  readonly rowsPerGroup: number[];
  readonly columns: ParquetColumnInfo[];
  readonly kvMetadataKeys: string[];
  /** Distinct codecs over all column chunks, e.g. `['ZSTD']`. */
  readonly codecs: string[];
  readonly createdBy: string | undefined;
}

/** Schema, row and row-group counts, metadata keys and codecs, from the footer only. */
export async function parquetInfo(path: string): Promise<ParquetInfo> {
  const file = await readArrayBuffer(path);
  const metadata: FileMetaData = parquetMetadata(file);
  const codecs = new Set<string>();
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) if (chunk.meta_data) codecs.add(chunk.meta_data.codec);
  }
  return {
    bytes: file.byteLength,
    rows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.length,
    rowsPerGroup: metadata.row_groups.map((group) => Number(group.num_rows)),
    columns: parquetSchema(metadata).children.map((node) => ({
      name: node.element.name,
      type: typeString(node),
      nullable: node.element.repetition_type !== 'REQUIRED',
    })),
    kvMetadataKeys: (metadata.key_value_metadata ?? []).map((entry) => entry.key),
    codecs: [...codecs].sort(),
    createdBy: metadata.created_by,
  };
}

/** The value of one key-value metadata entry, or undefined. */
export async function parquetKvMetadata(path: string, key: string): Promise<string | undefined> {
  const metadata = parquetMetadata(await readArrayBuffer(path));
  return metadata.key_value_metadata?.find((entry) => entry.key === key)?.value;
}

function typeString(node: SchemaTree): string {
  const { element, children } = node;
  if (!children.length) {
    const logical = element.logical_type?.type;
    if (element.type === 'BYTE_ARRAY' && (element.converted_type === 'UTF8' || logical === 'STRING')) return 'string';
    return (element.converted_type ?? logical ?? element.type ?? 'unknown').toLowerCase();
  }
  const isList = element.converted_type === 'LIST' || element.logical_type?.type === 'LIST';
  if (isList && children.length === 1 && children[0].element.repetition_type === 'REPEATED') {
    const repeated = children[0];
    // 3-level list: the repeated group wraps one element; 2-level: the repeated node is the element.
    const item = repeated.children.length === 1 ? repeated.children[0] : repeated;
    return `list<${typeString(item)}>`;
  }
  return `struct<${children.map((child) => `${child.element.name}: ${typeString(child)}`).join(', ')}>`;
}

async function readArrayBuffer(path: string): Promise<ArrayBuffer> {
  const bytes = await readFile(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
