// The shards of a publish: each split's rows written as Parquet shards in a staging folder beside
// the published ones (and the reviewed subset beside them), then moved into place, or dropped when
// the published shards already hold exactly these bytes.
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256 } from '../fingerprint.ts';
import { writeShards, type ColumnSpec, type ShardFile } from '../parquet/index.ts';
import type { RowSpill } from '../parquet/row-spill.ts';
import { isReviewedSample, REVIEWED_DIR } from '../review/reviewed-subset.ts';
import { COLUMNS, SCHEMA_VERSION, type Sample } from '../../schemas/sample.ts';
import { readManifest } from './manifest.ts';

const SHARDS_DIR = 'shards';

/** A written shard and the published name of its split. */
export type PublishedShard = ShardFile & { readonly split: string };

export interface ShardSettings {
  /** Roll to a new shard past this many bytes. */
  readonly targetBytes: number;
  readonly zstdLevel: number;
  /** Embed each row's media bytes as `{bytes, path}` structs read from OUT/media. */
  readonly embedMedia: boolean;
  readonly createdBy: string;
  readonly configFingerprint: string;
}

/** One split's rows, in shard order, under its published name; `reviewed` counts the rows of the reviewed subset. */
export interface SplitRows {
  readonly name: string;
  readonly rows: RowSpill<Sample>;
  readonly reviewed: number;
}

export interface StagedShards {
  readonly shards: readonly PublishedShard[];
  readonly reviewedShards: readonly PublishedShard[];
  /** the shard columns (media columns as `{bytes, path}` when embedded) */
  readonly columns: readonly ColumnSpec[];
}

/** Writes every split's shards (and reviewed subset) under `staging`; file names are relative to their folder. */
export async function stageShards(outDir: string, staging: string, splits: readonly SplitRows[], settings: ShardSettings): Promise<StagedShards> {
  const shards: PublishedShard[] = [];
  const reviewedShards: PublishedShard[] = [];
  const columns = settings.embedMedia ? embeddedColumns(COLUMNS) : COLUMNS;
  const common = { columns, targetBytes: settings.targetBytes, zstdLevel: settings.zstdLevel, createdBy: settings.createdBy };
  const withMedia = (rows: AsyncIterable<Sample>) => (settings.embedMedia ? embedMediaBytes(outDir, rows, columns) : rows);
  for (const { name, rows, reviewed } of splits) {
    const written = await writeShards({
      ...common,
      dir: join(staging, SHARDS_DIR),
      prefix: name,
      rows: withMedia(rows.sorted()),
      kvMetadata: [{ key: 'emoforge', value: canonicalJson({ schemaVersion: SCHEMA_VERSION, split: name, configFingerprint: settings.configFingerprint }) }],
    });
    shards.push(...written.map((s) => ({ ...s, split: name })));
    if (reviewed) {
      const subset = await writeShards({
        ...common,
        dir: join(staging, REVIEWED_DIR),
        prefix: name,
        rows: withMedia(rows.sorted(isReviewedSample)),
        kvMetadata: [
          {
            key: 'emoforge',
            value: canonicalJson({ schemaVersion: SCHEMA_VERSION, split: name, subset: 'reviewed', configFingerprint: settings.configFingerprint }),
          },
        ],
      });
      reviewedShards.push(...subset.map((s) => ({ ...s, split: name })));
    }
  }
  return { shards, reviewedShards, columns };
}

/**
 * Puts the staged shards in place of the published ones, or, when `unchanged`, keeps the published
 * ones and drops the staged copies. Call with no manifest in OUT: in between, OUT holds a mix.
 */
export async function swapShards(outDir: string, staging: string, unchanged: boolean, hasReviewed: boolean): Promise<void> {
  if (unchanged) await rm(join(staging, SHARDS_DIR), { recursive: true, force: true });
  else {
    await rm(join(outDir, SHARDS_DIR), { recursive: true, force: true });
    await rename(join(staging, SHARDS_DIR), join(outDir, SHARDS_DIR));
    // The reviewed subset is made of the same rows: it changes exactly when the shards do.
    await rm(join(outDir, REVIEWED_DIR), { recursive: true, force: true });
    if (hasReviewed) await rename(join(staging, REVIEWED_DIR), join(outDir, REVIEWED_DIR));
  }
  await rm(staging, { recursive: true, force: true });
}

/** True when out/shards already holds exactly these files with these hashes (per the published manifest). */
export async function samePublishedShards(outDir: string, shards: readonly PublishedShard[]): Promise<boolean> {
  // A manifest that does not parse vouches for nothing: the shards are written again.
  const published = await readManifest(outDir).catch(() => undefined);
  if (!published || published.shards.length !== shards.length) return false;
  const want = new Map(shards.map((s) => [`shards/${s.file}`, s.sha256]));
  for (const s of published.shards) {
    if (want.get(s.file) !== s.sha256) return false;
    const bytes = await readFile(join(outDir, s.file)).catch(() => null);
    if (!bytes || sha256(bytes) !== s.sha256) return false;
  }
  return true;
}

/** The shard columns with media embedded: each media column becomes `{bytes, path}` (a list of them for frames and crops). */
function embeddedColumns(columns: readonly ColumnSpec[]): ColumnSpec[] {
  return columns.map((c) => (c.feature ? { ...c, kind: c.kind === 'list<string>' ? 'list<media>' : 'media' } : c));
}

/** Rows with each media path replaced by `{bytes, path}`, the bytes read from OUT one row at a time. */
async function* embedMediaBytes(outDir: string, rows: AsyncIterable<Sample>, columns: readonly ColumnSpec[]): AsyncGenerator<Record<string, unknown>> {
  const media = columns.filter((c) => c.feature);
  const embed = async (path: string) => ({ bytes: await readFile(join(outDir, path)), path });
  for await (const row of rows) {
    const out: Record<string, unknown> = { ...row };
    for (const column of media) {
      const value = (row as Record<string, unknown>)[column.name];
      if (Array.isArray(value)) out[column.name] = await Promise.all(value.map((p: string) => embed(p)));
      else out[column.name] = typeof value === 'string' ? await embed(value) : null;
    }
    yield out;
  }
}
