// write: the global step. Assigns speaker- and source-disjoint splits, packages every kept segment into training
// rows (one per task), validates each row, and publishes the out folder:
//   shards/{split}-{i:05d}-of-{n:05d}.parquet, rejects.parquet, stats.json, report.html, README.md
//   (the dataset card), manifest.json (last).
// Publishing order makes a crash safe: shards are built in a staging folder; the old manifest is
// removed before any final-named shard changes and the new one is written only after every shard,
// rejects and stats are in place, so a manifest never points at a partial or foreign shard.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readPreviousRun } from '../pipelines/audit/index.ts';
import { writeAuditFiles } from '../pipelines/publish/audit-files.ts';
import { writeFileAtomic } from '../pipelines/publish/atomic-write.ts';
import { buildSamples, CONVERSATION_TEMPLATES, DEFAULT_TASKS, type ConversationTemplate } from '../pipelines/conversations.ts';
import { segmentDrop } from '../pipelines/drops.ts';
import { canonicalJson, fingerprint } from '../pipelines/fingerprint.ts';
import { decodeFootage, DEFAULT_FOOTAGE_SEARCH, findFootageDuplicates, FOOTAGE_VERSION } from '../pipelines/quality/footage.ts';
import { markMediaSweep, mediaSweepPending, placeMedia, pruneMedia, readMediaIndex, writeMediaIndex, type MediaIndexRef } from '../pipelines/media/out-media.ts';
import { DEFAULT_TARGET_BYTES, writeParquetFile, writeShards, type ColumnSpec, type ShardFile } from '../pipelines/parquet/index.ts';
import { RowSpill } from '../pipelines/parquet/row-spill.ts';
import type { SinkContext, SinkInput, SinkResult, SinkSegments, SinkStage } from '../pipelines/sink.ts';
import { assignSplits, splitMember, type SplitMember } from '../pipelines/split.ts';
import type { AuditRow } from '../pipelines/audit/digest.ts';
import { statsFor, totalWork } from '../pipelines/stats.ts';
import { acquireLock } from '../pipelines/publish/lock.ts';
import { carriedRows } from '../pipelines/publish/publish-guard.ts';
import { FatalError } from '../pipelines/errors.ts';
import { fsFailure, isDiskFull, isFsError } from '../pipelines/fs-errors.ts';
import { diffVersions, latestVersion, recordVersion, sameContent, versionLine, type VersionDiff, type VersionParent } from '../pipelines/publish/versions.ts';
import { isReviewedSample, REVIEWED_DIR } from '../pipelines/review/reviewed-subset.ts';
import { EMOFORGE_VERSION } from '../pipelines/version.ts';
import type { Drop, FootageFingerprint, Segment } from '../schemas/records.ts';
import { COLUMNS, SCHEMA_VERSION, SPLIT_NAME, SPLITS, Sample, Task, type Split } from '../schemas/sample.ts';

const SplitShare = z.number().min(0);
const SplitName = z.string().regex(SPLIT_NAME, 'a split name is letters, digits and _ (dot-separated parts allowed), as Hugging Face expects');

const WriteConfig = z
  .object({
    /** Roll to a new shard past this many bytes (default 256 MB). */
    targetShardBytes: z.number().int().positive().default(DEFAULT_TARGET_BYTES),
    /** Split shares by segment count; no speaker or source video straddles splits, and each split's primary labels follow the corpus's as far as groups allow. `val` is read as `validation` (configs written before the rename). */
    splits: z
      .preprocess(
        (value) =>
          value === 'official'
            ? { official: true }
            : value && typeof value === 'object' && 'val' in value && !('validation' in value)
              ? renameKey(value as Record<string, unknown>, 'val', 'validation')
              : value,
        z
          .object({
            train: SplitShare.default(0.8),
            validation: SplitShare.default(0.1),
            test: SplitShare.default(0.1),
            /** The corpus's own split (corpus adapters: MELD's CSVs, MER's label files) decides where its segments go; the rest follow the shares. `splits: official` is short for `{ official: true }`. */
            official: z.boolean().default(false),
          })
          .strict(),
      )
      .default({ train: 0.8, validation: 0.1, test: 0.1, official: false })
      .refine((s) => s.train + s.validation + s.test > 0, 'at least one split needs a share above 0'),
    /** Published names of the splits (row `split`, shard file prefix, dataset card). Default train, validation, test: the names `datasets` and the Hub expect. */
    splitNames: z
      .object({ train: SplitName.optional(), validation: SplitName.optional(), test: SplitName.optional() })
      .strict()
      .default({})
      .transform((names) => ({ train: names.train ?? 'train', validation: names.validation ?? 'validation', test: names.test ?? 'test' }))
      .refine((names) => new Set(Object.values(names)).size === SPLITS.length, 'the three split names must differ'),
    /** Seed of the split assignment. */
    seed: z.string().default('emoforge'),
    /** Training tasks to package (qra, the Q → R → A form of the rationale, is off by default). */
    tasks: z.array(Task).min(1).default([...DEFAULT_TASKS]),
    /** How the human turn presents media and subtitle: llava (`<video>\n<audio>\n…`, default), affectgpt (`<Audio><AudioHere></Audio> <Video><ImageHere></Video> …`), openai (no placeholders; export jsonl adds media parts). */
    conversationTemplate: z.enum(CONVERSATION_TEMPLATES).default('llava'),
    /** zstd level of the shards. */
    zstdLevel: z.number().int().min(1).max(22).default(3),
    /** Segments of the same footage (footage fingerprints agree, as dedup judges them) land in one split, like a shared speaker. Default true. */
    footageTies: z.boolean().default(true),
    /** Embed each row's media bytes in the shards as `{bytes, path}` structs (for a Hub push: the Parquet then carries the media). Default false: rows name files under OUT/media. */
    embedMedia: z.boolean().default(false),
  })
  .strict();
export type WriteConfig = z.infer<typeof WriteConfig>;

function renameKey(value: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  const { [from]: moved, ...rest } = value;
  return { ...rest, [to]: moved };
}

export const REJECT_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', kind: 'string', nullable: false, description: 'record id (segment id, clip id, or a hash of the uri when the file could not be read)' },
  { name: 'clip_id', kind: 'string', nullable: true, description: 'sha256 of the source file, when it was read' },
  { name: 'uri', kind: 'string', nullable: false, description: 'source file or manifest line' },
  { name: 'stage', kind: 'string', nullable: false, description: 'stage that dropped the record' },
  { name: 'reason', kind: 'string', nullable: false, description: 'short reason, also a counter in stats.json' },
  { name: 'detail', kind: 'string', nullable: false, description: 'what exactly was wrong' },
  // What a dropped segment had become (null for sources and clips): labels before filtering, rejected examples.
  { name: 'name', kind: 'string', nullable: true, description: 'clip name' },
  { name: 'start', kind: 'double', nullable: true, description: 'segment start, seconds' },
  { name: 'end', kind: 'double', nullable: true, description: 'segment end, seconds' },
  { name: 'speaker', kind: 'string', nullable: true, description: 'speaker from the manifest' },
  { name: 'label', kind: 'string', nullable: true, description: 'emotion label from the manifest' },
  { name: 'primary_emotion', kind: 'string', nullable: true, description: 'primary emotion from the labels teacher, when the segment got that far' },
  { name: 'sentiment', kind: 'string', nullable: true, description: 'sentiment from the labels teacher' },
  { name: 'transcript', kind: 'string', nullable: true, description: 'what was said' },
  { name: 'description', kind: 'string', nullable: true, description: 'the emotion description' },
  { name: 'qa', kind: 'string', nullable: true, description: 'one "Q: … A: …" line per question' },
  { name: 'rationale', kind: 'string', nullable: true, description: 'one line per rationale step' },
  { name: 'frame', kind: 'string', nullable: true, description: 'store key of the first keyframe' },
  { name: 'conflict', kind: 'string', nullable: true, description: 'CA-MER modality agreement tag' },
  { name: 'judge_score', kind: 'double', nullable: true, description: "the judge's 1-10 score, when the segment was judged" },
];

export interface OutManifest {
  emoforge: string;
  schemaVersion: number;
  corpus: string;
  configFingerprint: string;
  stages: { name: string; version: number; fingerprint: string }[];
  /** `split` is the published split name */
  shards: { file: string; split: string; rows: number; bytes: number; sha256: string }[];
  /** rows per published split name */
  splits: Record<string, number>;
  /** the published name of each split */
  splitNames: Record<Split, string>;
  /** split shares + seed; while it stays the same, rows keep the split the previous version gave them */
  splitFingerprint: string;
  rejects: { file: string; rows: number; bytes: number; sha256: string };
  /** the human-reviewed subset (rows accepted or edited by a reviewer) as shards of its own under reviewed/; absent when no row was reviewed */
  reviewed?: { shards: { file: string; split: string; rows: number; bytes: number; sha256: string }[] };
  /** every media file rows name, under OUT/media: the index (one line per file with bytes and sha256) and its totals */
  media: MediaIndexRef;
  stats: string;
  /** the audit report and the dataset card (README.md with Hugging Face front matter) */
  report: string;
  card: string;
  /** 1, 2, …: +1 each time the published shards or rejects change (see pipelines/publish/versions.ts) */
  version: number;
  /** the version this one replaced and the sha256 of its manifest.json; null for version 1 */
  parent: VersionParent | null;
  /** what changed since the parent; null for version 1 */
  diff: VersionDiff | null;
}

export const write: SinkStage<WriteConfig> = {
  kind: 'sink',
  name: 'write',
  version: 3,
  configSchema: WriteConfig,
  reads: ['transcript', 'labels'],
  adds: [],
  project: sinkView,

  async run(input, config, ctx): Promise<SinkResult> {
    // One publisher per out folder (re-entrant: `emoforge run` and `schedule` already hold it).
    const lock = await acquireLock(ctx.outDir, `emoforge write ${input.run.name}`);
    const progress = { swapping: false };
    try {
      return await publish(input, config, ctx, progress);
    } catch (error) {
      // A full disk is said with what it left: before the swap the published version is intact.
      if (isDiskFull(error) && isFsError(error)) throw fsFailure(error, progress.swapping ? 'the publish stopped half-way: OUT has no manifest.json until a run completes it' : 'OUT is unchanged');
      throw error;
    } finally {
      await lock.release();
    }
  },
};

/** The split a published name stands for, by a manifest's names (manifests before names were published called validation `val`). */
function splitIdsOf(manifest: Partial<OutManifest> | undefined): Map<string, Split> {
  const names = manifest?.splitNames ?? { train: 'train', validation: 'val', test: 'test' };
  return new Map(SPLITS.map((id) => [names[id] ?? id, id]));
}

async function publish(input: SinkInput, config: WriteConfig, ctx: SinkContext, progress: { swapping: boolean }): Promise<SinkResult> {
  const stats = statsFor(input.stats, 'write');
  // The splits are planned from the compact views; full segments stream past once, to rows.
  const views = input.segments.views.length === input.segments.count ? (input.segments.views as SinkView[]) : await viewsOf(input.segments, config);
  // Read before anything in the folder changes: the report says what changed since then.
  const previous = await readPreviousRun(ctx.outDir, input.run.name);
  const drops: Drop[] = [...input.drops];
  // Splits are sticky across versions: rows of the latest version keep their split while the split
  // shares and seed stay the same (new groups are placed around them), whatever the splits are called.
  // The fingerprint keeps the form it had when validation was called val, so existing folders stay sticky.
  const splitFingerprint = fingerprint('splits', { train: config.splits.train, val: config.splits.validation, test: config.splits.test, ...(config.splits.official ? { official: true } : {}) }, config.seed);
  const latest = await latestVersion<OutManifest>(ctx.outDir);
  let pinned: Map<string, Split> | undefined;
  if (latest?.manifest.splitFingerprint === splitFingerprint && previous.kind === 'run') {
    const idOf = splitIdsOf(latest.manifest);
    pinned = new Map();
    for (const row of previous.rows) {
      const id = idOf.get(row.split);
      if (id) pinned.set(row.segmentId, id);
    }
  }
  // The corpus's own split outranks everything: an official test segment is never placed elsewhere,
  // even when its speaker has segments in other official splits (as the corpus's authors published them).
  const official = new Map<string, Split>();
  for (const view of views) if (view.official) official.set(view.member.id, view.official);
  const placed = official.size ? views.filter((v) => !official.has(v.member.id)) : views;
  const ties = config.footageTies ? footageTies(placed) : undefined;
  if (ties?.size) ctx.log.info({ segments: ties.size }, 'segments tied to others of the same footage for the splits');
  const splitOf = new Map([...assignSplits(placed.map((v) => v.member), config.splits, config.seed, pinned, ties), ...official]);

  // Rows of each split in shard order, spilled to disk past a budget (an external sort).
  const spillDir = join(ctx.outDir, '.staging-rows');
  await rm(spillDir, { recursive: true, force: true });
  // Embedded media: a segment's rows side by side, so the row group's dictionary holds its media once.
  const orderKey = (row: Pick<Sample, 'id' | 'segment_id'>) => (config.embedMedia ? `${row.segment_id}\u0000${row.id}` : row.id);
  const rows: Record<Split, RowSpill<Sample>> = { train: new RowSpill(spillDir, 'train'), validation: new RowSpill(spillDir, 'validation'), test: new RowSpill(spillDir, 'test') };
  const reviewedRows: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  const auditRows: Record<Split, AuditRow[]> = { train: [], validation: [], test: [] };
  const segments: Segment[] = [];
  const mediaKeys = new Set<string>();
  const keptIds = new Set<string>();
  stats.in += input.segments.count;
  for await (const segment of input.segments.stream()) {
    segments.push(segment);
    if (input.carry?.length) keptIds.add(segment.id);
    const split = splitOf.get(segment.id)!;
    const made = rowsOf(segment, config.splitNames[split], config.tasks, config.conversationTemplate);
    if ('error' in made) {
      drops.push(segmentDrop(segment, 'write', { reason: 'invalid-row', detail: made.error }));
      stats.dropped['invalid-row'] = (stats.dropped['invalid-row'] ?? 0) + 1;
      continue;
    }
    if (made.rows.length === 0) {
      drops.push(segmentDrop(segment, 'write', { reason: 'no-samples', detail: 'the segment carries no generated field to train on' }));
      stats.dropped['no-samples'] = (stats.dropped['no-samples'] ?? 0) + 1;
      continue;
    }
    stats.out++;
    for (const key of mediaOf(made.rows[0])) mediaKeys.add(key);
    for (const row of made.rows) await addRow(split, row);
  }
  segments.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  async function addRow(split: Split, row: Sample): Promise<void> {
    await rows[split].add(orderKey(row), row);
    if (isReviewedSample(row)) reviewedRows[split]++;
    auditRows[split].push({ id: row.id, segment_id: row.segment_id, name: row.name, primary_emotion: row.primary_emotion, split: row.split, task: row.task });
  }

  // The publish guard: records that failed transiently this run keep the rows the published version
  // has for them (with the split that version gave them, named as this config names it).
  const carried = await carriedRows(ctx.outDir, input.run.name, input.carry ?? [], keptIds);
  if (carried.rows.length) {
    const idOf = splitIdsOf({ splitNames: carried.splitNames as Record<Split, string> | undefined });
    for (const row of carried.rows) {
      const split = idOf.get(row.split);
      if (!split) throw new FatalError(`a published row (${row.id}) has split ${JSON.stringify(row.split)}, which the published manifest does not name: publish.allowPartial publishes without it`);
      await addRow(split, { ...row, split: config.splitNames[split] });
      for (const key of mediaOf(row)) mediaKeys.add(key);
    }
    ctx.log.warn({ rows: carried.rows.length, records: carried.records, fromVersion: carried.fromVersion }, 'rows carried forward for records that failed transiently');
  }
  // The audit lists rows in shard order.
  for (const split of SPLITS) auditRows[split].sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));

  // Every file a row names goes into OUT/media before any published file changes: adding files
  // under content-addressed names cannot break the published version.
  const previousMedia = await readMediaIndex(ctx.outDir);
  const sweepAll = (await mediaSweepPending(ctx.outDir)) || (previousMedia.size === 0 && previous.kind !== 'none');
  await markMediaSweep(ctx.outDir);
  const media = await placeMedia(ctx.outDir, ctx.store, mediaKeys, previousMedia, { fallbackDir: latest?.dir });

  // Build the new shards beside the published ones.
  const staging = join(ctx.outDir, '.staging');
  await rm(staging, { recursive: true, force: true });
  const shards: (ShardFile & { split: string })[] = [];
  const reviewedShards: (ShardFile & { split: string })[] = [];
  const createdBy = `emoforge ${EMOFORGE_VERSION}`;
  const columns = config.embedMedia ? embeddedColumns(COLUMNS) : COLUMNS;
  for (const split of SPLITS) {
    const name = config.splitNames[split];
    const sorted = rows[split].sorted();
    const written = await writeShards({
      dir: join(staging, 'shards'),
      prefix: name,
      columns,
      rows: config.embedMedia ? embedMediaBytes(ctx.outDir, sorted, columns) : sorted,
      targetBytes: config.targetShardBytes,
      zstdLevel: config.zstdLevel,
      createdBy,
      kvMetadata: [{ key: 'emoforge', value: canonicalJson({ schemaVersion: SCHEMA_VERSION, split: name, configFingerprint: input.run.fingerprint }) }],
    });
    shards.push(...written.map((s) => ({ ...s, split: name })));
    if (reviewedRows[split]) {
      const reviewed = rows[split].sorted(isReviewedSample);
      const subset = await writeShards({ dir: join(staging, REVIEWED_DIR), prefix: name, columns, rows: config.embedMedia ? embedMediaBytes(ctx.outDir, reviewed, columns) : reviewed, targetBytes: config.targetShardBytes, zstdLevel: config.zstdLevel, createdBy, kvMetadata: [{ key: 'emoforge', value: canonicalJson({ schemaVersion: SCHEMA_VERSION, split: name, subset: 'reviewed', configFingerprint: input.run.fingerprint }) }] });
      reviewedShards.push(...subset.map((s) => ({ ...s, split: name })));
    }
  }
  await rm(spillDir, { recursive: true, force: true });

  const unchanged = await samePublishedShards(ctx.outDir, shards);
  await mkdir(ctx.outDir, { recursive: true });
  // From here until the new manifest lands, no manifest exists: readers see an unfinished run.
  progress.swapping = true;
  await rm(join(ctx.outDir, 'manifest.json'), { force: true });
  if (unchanged) await rm(join(staging, 'shards'), { recursive: true, force: true });
  else {
    await rm(join(ctx.outDir, 'shards'), { recursive: true, force: true });
    await rename(join(staging, 'shards'), join(ctx.outDir, 'shards'));
    // The reviewed subset is made of the same rows: it changes exactly when the shards do.
    await rm(join(ctx.outDir, REVIEWED_DIR), { recursive: true, force: true });
    if (reviewedShards.length) await rename(join(staging, REVIEWED_DIR), join(ctx.outDir, REVIEWED_DIR));
  }
  await rm(staging, { recursive: true, force: true });

  drops.sort((a, b) => (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rejects = await writeParquetFile(
    join(ctx.outDir, 'rejects.parquet'),
    REJECT_COLUMNS,
    drops.map((d) => ({ id: d.id, clip_id: d.clipId, uri: d.uri, stage: d.stage, reason: d.reason, detail: d.detail, ...rejectSnapshot(d) })),
    [],
    { createdBy },
  );
  const mediaIndex = await writeMediaIndex(ctx.outDir, media.entries);

  const splits = Object.fromEntries(SPLITS.map((s) => [config.splitNames[s], rows[s].count]));
  const totalRows = SPLITS.reduce((n, s) => n + rows[s].count, 0);
  await writeFileAtomic(
    join(ctx.outDir, 'stats.json'),
    JSON.stringify(
      {
        corpus: input.run.name,
        stages: input.stats,
        teachers: input.teacherUsage,
        totals: {
          sources: input.run.sourcesSeen,
          segments: segments.length,
          rows: totalRows,
          rejected: drops.length,
          carried: carried.rows.length,
          carriedRecords: carried.records,
          mediaFiles: mediaIndex.files,
          mediaBytes: mediaIndex.bytes,
          work: totalWork(input.stats),
          teacherUSD: Object.values(input.teacherUsage).flatMap((byTeacher) => Object.values(byTeacher)).reduce((sum, u) => sum + u.usd, 0),
        },
      },
      null,
      2,
    ),
  );
  const audit = await writeAuditFiles(ctx.outDir, ctx.store, {
    corpus: input.run.name,
    emoforge: EMOFORGE_VERSION,
    configFingerprint: input.run.fingerprint,
    stages: input.run.stages,
    stats: input.stats,
    teacherUsage: input.teacherUsage,
    sourcesSeen: input.run.sourcesSeen,
    segments: segments,
    rows: SPLITS.flatMap((s) => auditRows[s]),
    drops,
    shards: shards.map((s) => ({ file: `shards/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes })),
    reviewedShards: reviewedShards.map((s) => ({ file: `${REVIEWED_DIR}/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes })),
    splitNames: SPLITS.map((s) => config.splitNames[s]),
    columns,
    media: { files: mediaIndex.files, bytes: mediaIndex.bytes, embedded: config.embedMedia },
    previous,
  });
  const content = {
    emoforge: EMOFORGE_VERSION,
    schemaVersion: SCHEMA_VERSION,
    corpus: input.run.name,
    configFingerprint: input.run.fingerprint,
    stages: [...input.run.stages],
    shards: shards.map((s) => ({ file: `shards/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes, sha256: s.sha256 })),
    splits,
    splitNames: { ...config.splitNames },
    splitFingerprint,
    rejects: { file: 'rejects.parquet', ...rejects },
    ...(reviewedShards.length ? { reviewed: { shards: reviewedShards.map((s) => ({ file: `${REVIEWED_DIR}/${s.file}`, split: s.split, rows: s.rows, bytes: s.bytes, sha256: s.sha256 })) } } : {}),
    media: mediaIndex,
    stats: 'stats.json',
    ...audit,
  };
  // Versions: the same shards, rejects and media as the latest version keep its number (and manifest);
  // anything else is the next version, with the latest as parent and a diff against it.
  const sameAsLatest = latest !== undefined && sameContent(latest.manifest, content);
  const version = sameAsLatest ? latest.version : (latest?.version ?? 0) + 1;
  const parent: VersionParent | null = sameAsLatest ? (latest.manifest.parent ?? null) : latest ? { version: latest.version, manifest: latest.manifestSha256 } : null;
  const diffed = sameAsLatest ? (latest.manifest.diff ?? null) : latest ? await diffVersions(latest.dir, latest.manifest, ctx.outDir, content) : null;
  const diff = diffed && !sameAsLatest ? { ...diffed, carried: carried.rows.length } : diffed;
  const manifest: OutManifest = { ...content, version, parent, diff };
  const manifestText = JSON.stringify(manifest, null, 2);
  if (!sameAsLatest || (await readFile(join(latest.dir, 'manifest.json'), 'utf8')) !== manifestText) {
    const files = [...manifest.shards.map((s) => s.file), ...(manifest.reviewed?.shards ?? []).map((s) => s.file), manifest.rejects.file, manifest.media.index, ...media.entries.map((e) => e.file), manifest.stats, manifest.report, manifest.card];
    await recordVersion(ctx.outDir, version, files, manifestText, new Date().toISOString());
  }
  await writeFileAtomic(join(ctx.outDir, 'manifest.json'), manifestText);
  // Media the new version no longer names leave OUT/media (older version folders keep their links).
  const pruned = await pruneMedia(ctx.outDir, media.entries, previousMedia, sweepAll);
  const line = versionLine(version, sameAsLatest, diff, parent);
  ctx.log.info(
    { rows: totalRows, splits, shards: shards.length, rejects: drops.length, unchanged, version, versionUnchanged: sameAsLatest, diff: diff?.rows ?? null, media: { files: mediaIndex.files, bytes: mediaIndex.bytes, linked: media.linked, copied: media.copied, kept: media.kept, pruned } },
    'published',
  );
  return { splits, shards, unchanged, carried: { rows: carried.rows.length, records: carried.records, fromVersion: carried.fromVersion }, version: { number: version, unchanged: sameAsLatest, line, diff }, media: { files: mediaIndex.files, bytes: mediaIndex.bytes, linked: media.linked, copied: media.copied, kept: media.kept, pruned } };
}

/** Segment id → `footage:<kept id>` for segments whose footage matches another's (dedup's default thresholds). */
function footageTies(views: readonly SinkView[]): Map<string, string> {
  const comparable = views.filter((v) => v.footage !== undefined);
  const report = findFootageDuplicates(comparable.map((v) => ({ id: v.member.id, fingerprint: decodeFootage(v.footage!) })), DEFAULT_FOOTAGE_SEARCH);
  const ties = new Map<string, string>();
  report.verdicts.forEach((verdict, i) => {
    if (verdict.kind !== 'duplicate') return;
    const key = `footage:${comparable[verdict.kept].member.id}`;
    ties.set(comparable[i].member.id, key);
    ties.set(comparable[verdict.kept].member.id, key);
  });
  return ties;
}

/** What the sink plans the splits from: group keys and label, the corpus's own split, the footage fingerprint for ties. */
interface SinkView {
  readonly member: SplitMember;
  readonly official?: Split;
  readonly footage?: FootageFingerprint;
}

function sinkView(segment: Segment, config: WriteConfig): SinkView {
  const official = config.splits.official ? segment.clip.manifest.officialSplit : undefined;
  const footage = config.footageTies && segment.fingerprint?.version === FOOTAGE_VERSION ? segment.fingerprint : undefined;
  return { member: splitMember(segment), ...(official ? { official } : {}), ...(footage ? { footage } : {}) };
}

/** The views, read from the segments themselves, sorted by segment id (when the runner did not take them). */
async function viewsOf(segments: SinkSegments, config: WriteConfig): Promise<SinkView[]> {
  const views: SinkView[] = [];
  for await (const segment of segments.stream()) views.push(sinkView(segment, config));
  return views.sort((a, b) => (a.member.id < b.member.id ? -1 : a.member.id > b.member.id ? 1 : 0));
}

/** The media files a segment's rows name (every row of a segment names the same ones). */
function mediaOf(row: Sample): string[] {
  return [...(row.video ? [row.video] : []), ...(row.audio ? [row.audio] : []), ...row.frames, ...row.face_crops, ...(row.peak_frame ? [row.peak_frame] : [])];
}

/**
 * The cues a row carries: everything measured, except that each face track is summarised (its
 * per-frame times, boxes, expressions and mouth opening stay in the segment record: a 10 s
 * three-face segment would otherwise put ~40 KB into every one of its rows).
 */
function rowCues(cues: NonNullable<Segment['cues']>): NonNullable<Segment['cues']> | Record<string, unknown> {
  const visual = cues.visual;
  if (!visual?.tracks) return cues;
  const tracks = visual.tracks.map((t) => ({ id: t.id, frames: t.times.length, first: t.times[0], last: t.times[t.times.length - 1], meanExpressions: t.meanExpressions, geometry: t.geometry }));
  return { ...cues, visual: { ...visual, tracks } };
}

/** The training rows of one segment, validated; an invalid row rejects the segment whole. */
function rowsOf(segment: Segment, split: string, tasks: readonly Task[], template: ConversationTemplate): { rows: Sample[] } | { error: string } {
  const labels = segment.labels!;
  const cues = canonicalJson(rowCues(segment.cues ?? {}));
  const visual = segment.cues?.visual;
  const rows: Sample[] = [];
  for (const sample of buildSamples(segment, { tasks, template })) {
    const candidate = {
      id: fingerprint('sample', segment.id, sample.task, sample.ordinal),
      clip_id: segment.clipId,
      segment_id: segment.id,
      name: segment.clip.name,
      uri: segment.clip.uri,
      start: segment.start,
      end: segment.end,
      speaker: segment.clip.manifest.speaker ?? null,
      label: segment.clip.manifest.label ?? null,
      transcript: segment.transcript?.text ?? '',
      language: segment.transcript?.language ?? 'und',
      primary_emotion: labels.primary,
      openset: labels.openset,
      sentiment: labels.sentiment,
      valence: labels.valence,
      arousal: labels.arousal,
      task: sample.task,
      conversations: sample.conversations,
      // Media by path relative to OUT: the artefact keys are the layout of OUT/media.
      video: segment.video?.key ?? null,
      audio: segment.audio?.key ?? null,
      frames: (segment.frames ?? []).map((f) => f.key),
      face_crops: (segment.cues?.visual?.crops ?? []).map((c) => c.key),
      conflict: segment.cues?.agreement?.tag ?? null,
      cues,
      teacher: sample.provenance.teacher,
      model: sample.provenance.model,
      template: sample.provenance.template,
      split,
      transcript_en: segment.translation?.text ?? (segment.transcript && /^en(-|$)/i.test(segment.transcript.language) ? segment.transcript.text : (segment.clip.manifest.textEn ?? null)),
      label_source: segment.clip.manifest.labelSource ? canonicalJson(segment.clip.manifest.labelSource) : null,
      official_split: segment.clip.manifest.officialSplit ?? null,
      review: segment.review?.status ?? 'none',
      review_hash: segment.review?.hash ?? null,
      speaker_track: visual?.speaker ? visual.speaker.track : null,
      speaker_confidence: visual?.speaker ? visual.speaker.confidence : null,
      speaker_method: visual?.speaker ? visual.speaker.method : null,
      faces: visual?.tracks ? visual.tracks.length : null,
      peak_frame: visual?.peak ? visual.peak.frame.key : null,
      peak_time: visual?.peak ? visual.peak.time : null,
    };
    const checked = Sample.safeParse(candidate);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      return { error: `${sample.task} row invalid at ${issue?.path.join('.')}: ${issue?.message}` };
    }
    rows.push(checked.data);
  }
  return { rows };
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

function rejectSnapshot(d: Drop): Record<string, string | number | null> {
  const s = d.segment;
  return {
    name: s?.name ?? null,
    start: s?.start ?? null,
    end: s?.end ?? null,
    speaker: s?.speaker ?? null,
    label: s?.label ?? null,
    primary_emotion: s?.primaryEmotion ?? null,
    sentiment: s?.sentiment ?? null,
    transcript: s?.transcript ?? null,
    description: s?.description ?? null,
    qa: s?.qa ?? null,
    rationale: s?.rationale ?? null,
    frame: s?.frame ?? null,
    conflict: s?.conflict ?? null,
    judge_score: s?.judgeScore ?? null,
  };
}

/** True when out/shards already holds exactly these files with these hashes (per the published manifest). */
async function samePublishedShards(outDir: string, shards: readonly (ShardFile & { split: string })[]): Promise<boolean> {
  let published: OutManifest;
  try {
    published = JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')) as OutManifest;
  } catch {
    return false;
  }
  if (published.shards?.length !== shards.length) return false;
  const want = new Map(shards.map((s) => [`shards/${s.file}`, s.sha256]));
  for (const s of published.shards) {
    if (want.get(s.file) !== s.sha256) return false;
    const bytes = await readFile(join(outDir, s.file)).catch(() => null);
    if (!bytes || fingerprintBytes(bytes) !== s.sha256) return false;
  }
  return true;
}

function fingerprintBytes(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
