// The Parquet layer's public API: sharded, zstd, Hugging Face–ready writers and two readers.
export { writeShards, writeParquetFile, shardFileName, DEFAULT_TARGET_BYTES } from './shard-writer.ts';
export type { ShardFile, WriteShardsOptions, ParquetEncodingOptions, ParquetRow, RowSource } from './shard-writer.ts';
export { AUDIO_SAMPLING_RATE, COLUMN_KINDS, MEDIA_FEATURES, huggingFaceFeatures, parquetSchemaFor } from './column-spec.ts';
export type { ColumnKind, ColumnSpec, EmbeddedMedia, MediaFeature } from './column-spec.ts';
export { ParquetRowError } from './row-check.ts';
export { readRowsHyparquet, readRowsDuckDb, parquetInfo, parquetKvMetadata } from './read.ts';
export type { ParquetInfo, ParquetColumnInfo, ReadRow } from './read.ts';
