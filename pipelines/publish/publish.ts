// Publishing the out folder: media into OUT/media, shards, rejects.parquet, stats.json, report.html,
// README.md (the dataset card), a version folder, manifest.json (last), under the out folder's lock.
// The order makes a crash safe: shards are built in a staging folder; the old manifest is removed
// before any final-named shard changes and the new one is written only after every shard, rejects
// and stats are in place, so a manifest never points at a partial or foreign shard.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { OutManifest, VersionParent } from '../../schemas/manifest.ts';
import type { Drop } from '../../schemas/records.ts';
import { SCHEMA_VERSION, SPLITS, type Sample, type Split } from '../../schemas/sample.ts';
import type { DigestBuilder } from '../audit/digest.ts';
import type { PreviousRunState } from '../audit/previous-run.ts';
import { fsFailure, isDiskFull, isFsError } from '../fs-errors.ts';
import { markMediaSweep, mediaSweepPending, placeMedia, pruneMedia, readMediaIndex, writeMediaIndex } from '../media/out-media.ts';
import type { RowSpill } from '../parquet/row-spill.ts';
import { REVIEWED_DIR } from '../review/reviewed-subset.ts';
import type { SinkResult } from '../sink.ts';
import type { StatsTable } from '../stats.ts';
import type { Store } from '../store/store.ts';
import type { TeacherUsageTable } from '../teachers/usage.ts';
import { EMOFORGE_VERSION } from '../version.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { writeAuditFiles } from './audit-files.ts';
import { acquireLock } from './lock.ts';
import { MANIFEST_FILE } from './manifest.ts';
import type { CarriedRows } from './publish-guard.ts';
import { rejectOrder, writeRejects } from './rejects.ts';
import { samePublishedShards, stageShards, swapShards } from './shards.ts';
import { writeStatsFile } from './stats-file.ts';
import { diffVersions, recordVersion, sameContent, versionLine, type LatestVersion } from './versions.ts';
import { trimMalloc } from '../malloc.ts';

/** Whether a publish got as far as removing the published manifest: what a failure leaves behind. */
export interface PublishProgress {
  swapping: boolean;
}

/**
 * Runs `publish` holding the out folder's lock (re-entrant: `emoforge run` and `schedule` already
 * hold it). A full disk is said with what it left: before the swap the published version is intact.
 */
export async function underPublishLock<T>(outDir: string, command: string, publish: (progress: PublishProgress) => Promise<T>): Promise<T> {
  const lock = await acquireLock(outDir, command);
  const progress: PublishProgress = { swapping: false };
  try {
    return await publish(progress);
  } catch (error) {
    if (isDiskFull(error) && isFsError(error))
      throw fsFailure(error, progress.swapping ? 'the publish stopped half-way: OUT has no manifest.json until a run completes it' : 'OUT is unchanged');
    throw error;
  } finally {
    await lock.release();
  }
}

/** Everything the write stage made of a run, ready to publish. */
export interface Publication {
  readonly run: {
    readonly name: string;
    readonly fingerprint: string;
    readonly stages: readonly { readonly name: string; readonly version: number; readonly fingerprint: string }[];
    readonly sourcesSeen: number;
  };
  readonly stats: StatsTable;
  readonly teacherUsage: TeacherUsageTable;
  /** the published name of each split */
  readonly splitNames: Readonly<Record<Split, string>>;
  /** split shares + seed, recorded so the next publish can keep rows in their splits */
  readonly splitFingerprint: string;
  /** each split's rows in shard order, and the folder their spill files live in (removed once the shards are written) */
  readonly rows: Readonly<Record<Split, RowSpill<Sample>>>;
  readonly spillDir: string;
  /** rows per split that a reviewer accepted or edited (the reviewed subset) */
  readonly reviewedRows: Readonly<Record<Split, number>>;
  /** the report's digest of the kept segments and the rows, built as they were written */
  readonly digest: DigestBuilder;
  /** how many segments reached the write stage */
  readonly segments: number;
  /** every record that left early, the write stage's own included */
  readonly drops: readonly Drop[];
  /** the media files the rows name (store keys, which are also their paths under OUT) */
  readonly mediaKeys: ReadonlySet<string>;
  readonly carried: CarriedRows;
  /** the latest version and the previous run, both read before anything in OUT changed */
  readonly latest: LatestVersion | undefined;
  readonly previous: PreviousRunState;
  readonly shards: { readonly targetBytes: number; readonly zstdLevel: number; readonly embedMedia: boolean };
}

export interface PublishContext {
  readonly outDir: string;
  readonly store: Store;
  readonly log: Logger;
}

/** Publishes `publication` into the out folder; call under the lock (underPublishLock). */
export async function publish(publication: Publication, ctx: PublishContext, progress: PublishProgress): Promise<SinkResult> {
  const { outDir } = ctx;
  const { run, splitNames, rows, carried, latest } = publication;
  // Every file a row names goes into OUT/media before any published file changes: adding files
  // under content-addressed names cannot break the published version.
  const previousMedia = await readMediaIndex(outDir);
  const sweepAll = (await mediaSweepPending(outDir)) || (previousMedia.size === 0 && publication.previous.kind !== 'none');
  await markMediaSweep(outDir);
  const media = await placeMedia(outDir, ctx.store, publication.mediaKeys, previousMedia, { fallbackDir: latest?.dir });

  // Build the new shards beside the published ones.
  const staging = join(outDir, '.staging');
  await rm(staging, { recursive: true, force: true });
  const createdBy = `emoforge ${EMOFORGE_VERSION}`;
  const { shards, reviewedShards, columns } = await stageShards(
    outDir,
    staging,
    SPLITS.map((split) => ({ name: splitNames[split], rows: rows[split], reviewed: publication.reviewedRows[split] })),
    { ...publication.shards, createdBy, configFingerprint: run.fingerprint },
  );
  await rm(publication.spillDir, { recursive: true, force: true });
  ctx.log.info({ shards: shards.length }, 'shards staged');
  trimMalloc();

  const unchanged = await samePublishedShards(outDir, shards);
  await mkdir(outDir, { recursive: true });
  // From here until the new manifest lands, no manifest exists: readers see an unfinished run.
  progress.swapping = true;
  await rm(join(outDir, MANIFEST_FILE), { force: true });
  await swapShards(outDir, staging, unchanged, reviewedShards.length > 0);

  const drops = [...publication.drops].sort(rejectOrder);
  const rejects = await writeRejects(outDir, drops, createdBy);
  const mediaIndex = await writeMediaIndex(outDir, media.entries);

  const splits = Object.fromEntries(SPLITS.map((s) => [splitNames[s], rows[s].count]));
  const totalRows = SPLITS.reduce((n, s) => n + rows[s].count, 0);
  const stats = await writeStatsFile(outDir, run.name, publication.stats, publication.teacherUsage, {
    sources: run.sourcesSeen,
    segments: publication.segments,
    rows: totalRows,
    rejected: drops.length,
    carried: carried.rows.length,
    carriedRecords: carried.records,
    mediaFiles: mediaIndex.files,
    mediaBytes: mediaIndex.bytes,
  });
  const audit = await writeAuditFiles(outDir, ctx.store, publication.digest, {
    corpus: run.name,
    emoforge: EMOFORGE_VERSION,
    configFingerprint: run.fingerprint,
    stages: run.stages,
    stats: publication.stats,
    teacherUsage: publication.teacherUsage,
    sourcesSeen: run.sourcesSeen,
    drops,
    shards: shards.map((s) => ({ file: `shards/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes })),
    reviewedShards: reviewedShards.map((s) => ({ file: `${REVIEWED_DIR}/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes })),
    splitNames: SPLITS.map((s) => splitNames[s]),
    columns,
    media: { files: mediaIndex.files, bytes: mediaIndex.bytes, embedded: publication.shards.embedMedia },
    previous: publication.previous,
  });
  const content = {
    emoforge: EMOFORGE_VERSION,
    schemaVersion: SCHEMA_VERSION,
    corpus: run.name,
    configFingerprint: run.fingerprint,
    stages: [...run.stages],
    shards: shards.map((s) => ({ file: `shards/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes, sha256: s.sha256 })),
    splits,
    splitNames: { ...splitNames },
    splitFingerprint: publication.splitFingerprint,
    rejects,
    ...(reviewedShards.length
      ? {
          reviewed: {
            shards: reviewedShards.map((s) => ({ file: `${REVIEWED_DIR}/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes, sha256: s.sha256 })),
          },
        }
      : {}),
    media: mediaIndex,
    stats,
    ...audit,
  };
  // Versions: the same shards, rejects and media as the latest version keep its number (and manifest);
  // anything else is the next version, with the latest as parent and a diff against it.
  const sameAsLatest = latest !== undefined && sameContent(latest.manifest, content);
  const version = sameAsLatest ? latest.version : (latest?.version ?? 0) + 1;
  const parent: VersionParent | null = sameAsLatest
    ? (latest.manifest.parent ?? null)
    : latest
      ? { version: latest.version, manifest: latest.manifestSha256 }
      : null;
  const diffed = sameAsLatest ? (latest.manifest.diff ?? null) : latest ? await diffVersions(latest.dir, latest.manifest, outDir, content) : null;
  const diff = diffed && !sameAsLatest ? { ...diffed, carried: carried.rows.length } : diffed;
  const manifest: OutManifest = { ...content, version, parent, diff };
  const manifestText = JSON.stringify(manifest, null, 2);
  if (!sameAsLatest || (await readFile(join(latest.dir, MANIFEST_FILE), 'utf8')) !== manifestText) {
    const files = [
      ...manifest.shards.map((s) => s.file),
      ...(manifest.reviewed?.shards ?? []).map((s) => s.file),
      rejects.file,
      mediaIndex.index,
      ...media.entries.map((e) => e.file),
      stats,
      audit.report,
      audit.card,
    ];
    await recordVersion(outDir, version, files, manifestText, new Date().toISOString());
  }
  await writeFileAtomic(join(outDir, MANIFEST_FILE), manifestText);
  // Media the new version no longer names leave OUT/media (older version folders keep their links).
  const pruned = await pruneMedia(outDir, media.entries, previousMedia, sweepAll);
  const line = versionLine(version, sameAsLatest, diff, parent);
  const placed = { files: mediaIndex.files, bytes: mediaIndex.bytes, linked: media.linked, copied: media.copied, kept: media.kept, pruned };
  ctx.log.info(
    {
      rows: totalRows,
      splits,
      shards: shards.length,
      rejects: drops.length,
      unchanged,
      version,
      versionUnchanged: sameAsLatest,
      diff: diff?.rows ?? null,
      media: placed,
    },
    'published',
  );
  return {
    splits,
    shards,
    unchanged,
    carried: { rows: carried.rows.length, records: carried.records, fromVersion: carried.fromVersion },
    version: { number: version, unchanged: sameAsLatest, line, diff },
    media: placed,
  };
}
