// One Parquet file being written: row groups are encoded by hyparquet-writer into a buffer that is
// appended to a temporary file and hashed after each row group, so memory stays at one row group
// and the sha256 costs no second read. The caller renames the closed file to its final name.
import { createHash, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { KeyValue } from 'hyparquet-writer';
import { parquetSchemaFor, type ColumnSpec } from './column-spec.ts';
import { zstdCompressors, zstdReady } from './zstd.ts';

export interface ParquetFileWriterOptions {
  readonly columns: readonly ColumnSpec[];
  /** Complete key-value metadata, written in this order. */
  readonly kvMetadata: readonly KeyValue[];
  /** Parquet `created_by`; a constant so identical rows give identical bytes. */
  readonly createdBy: string;
  /** zstd level for every page. */
  readonly zstdLevel: number;
}

export interface ClosedParquetFile {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** Appends to an open file on each row-group flush, hashing the same bytes on the way. */
class FileSink extends ByteWriter {
  constructor(
    private readonly handle: FileHandle,
    private readonly hash: Hash,
  ) {
    super(1 << 20);
  }

  async flush(): Promise<void> {
    if (this.index === 0) return;
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    this.hash.update(bytes);
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written);
      written += bytesWritten;
    }
    this.index = 0;
  }

  override finish(): Promise<void> {
    return this.flush();
  }
}

export class ParquetFileWriter {
  private rowCount = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly hash: Hash,
    private readonly sink: FileSink,
    private readonly parquet: ParquetWriter,
    private readonly columns: readonly ColumnSpec[],
  ) {}

  /** Creates (truncates) `path` and writes the Parquet header. */
  static async open(path: string, options: ParquetFileWriterOptions): Promise<ParquetFileWriter> {
    await zstdReady();
    const handle = await open(path, 'w');
    const hash = createHash('sha256');
    const sink = new FileSink(handle, hash);
    const parquet = new ParquetWriter({
      writer: sink,
      schema: parquetSchemaFor(options.columns),
      codec: 'ZSTD',
      compressors: zstdCompressors(options.zstdLevel),
      kvMetadata: [...options.kvMetadata],
      createdBy: options.createdBy,
    });
    return new ParquetFileWriter(path, handle, hash, sink, parquet, options.columns);
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Bytes written so far (the footer adds a little on close). */
  get bytes(): number {
    return this.sink.offset;
  }

  /** Encodes `rows` (already checked against the spec) as one row group and appends it. */
  async writeRowGroup(rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    const columnData = this.columns.map(({ name, kind }) => {
      const data = new Array<unknown>(rows.length);
      for (let i = 0; i < rows.length; i++) data[i] = rows[i][name];
      // Min/max of embedded media bytes say nothing and readers would have to decode them as text.
      return kind === 'media' || kind === 'list<media>' ? { name, data, statistics: false } : { name, data };
    });
    await this.parquet.write({ columnData, rowGroupSize: rows.length });
    this.rowCount += rows.length;
  }

  /** Writes the footer, fsyncs and closes; the file is complete under its temporary name. */
  async close(): Promise<ClosedParquetFile> {
    this.closed = true;
    try {
      await this.parquet.finish();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    return { path: this.path, rows: this.rowCount, bytes: this.sink.offset, sha256: this.hash.digest('hex') };
  }

  /** Closes and deletes the partial file. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }
}
