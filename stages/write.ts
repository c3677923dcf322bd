// write: the sink. Assigns speaker- and source-disjoint splits, packages every kept segment into
// training rows (one per task), validates each row, and hands the rows to pipelines/publish/, which
// publishes the out folder (shards/{split}-{i:05d}-of-{n:05d}.parquet, rejects.parquet, stats.json,
// report.html, README.md, manifest.json last) under the out folder's lock.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readPreviousRun } from '../pipelines/audit/previous-run.ts';
import { DigestBuilder } from '../pipelines/audit/digest.ts';
import { buildSamples, CONVERSATION_TEMPLATES, DEFAULT_TASKS, type ConversationTemplate } from '../pipelines/conversations.ts';
import { segmentDrop } from '../pipelines/drops.ts';
import { FatalError } from '../pipelines/errors.ts';
import { canonicalJson, fingerprint } from '../pipelines/fingerprint.ts';
import { DEFAULT_TARGET_BYTES } from '../pipelines/parquet/index.ts';
import { RowSpill, sharedSpillBudgets } from '../pipelines/parquet/row-spill.ts';
import { carriedRows } from '../pipelines/publish/publish-guard.ts';
import { publish, underPublishLock, type Publication } from '../pipelines/publish/publish.ts';
import { latestVersion } from '../pipelines/publish/versions.ts';
import { decodeFootage, DEFAULT_FOOTAGE_SEARCH, findFootageDuplicates, FOOTAGE_VERSION } from '../pipelines/quality/footage.ts';
import { isReviewedSample } from '../pipelines/review/reviewed-subset.ts';
import type { SinkContext, SinkInput, SinkResult, SinkSegments, SinkStage } from '../pipelines/sink.ts';
import type { SortedIds } from '../pipelines/sorted-ids.ts';
import { ViewsById } from '../pipelines/run/views-by-id.ts';
import { assignSplitCodes, splitMember, type SplitPlace } from '../pipelines/split.ts';
import { statsFor } from '../pipelines/stats.ts';
import type { OutManifest } from '../schemas/manifest.ts';
import type { Drop, FootageFingerprint, Segment } from '../schemas/records.ts';
import { SPLIT_NAME, SPLITS, Sample, Task, type Split } from '../schemas/sample.ts';

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
    tasks: z
      .array(Task)
      .min(1)
      .default([...DEFAULT_TASKS]),
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

export const write: SinkStage<WriteConfig> = {
  kind: 'sink',
  name: 'write',
  version: 3,
  configSchema: WriteConfig,
  reads: ['transcript', 'labels'],
  adds: [],
  project: sinkView,

  async run(input, config, ctx): Promise<SinkResult> {
    return underPublishLock(ctx.outDir, `emoforge write ${input.run.name}`, async (progress) => publish(await publication(input, config, ctx), ctx, progress));
  },
};

/** The split a published name stands for, by a manifest's names (manifests before names were published called validation `val`). */
function splitIdsOf(manifest: Pick<OutManifest, 'splitNames'> | undefined): Map<string, Split> {
  const names = manifest?.splitNames ?? { train: 'train', validation: 'val', test: 'test' };
  return new Map(SPLITS.map((id) => [names[id] ?? id, id]));
}

/** The run's rows in their splits, and what the publish needs besides; read before anything in OUT changes. */
async function publication(input: SinkInput, config: WriteConfig, ctx: SinkContext): Promise<Publication> {
  const stats = statsFor(input.stats, 'write');
  // Read before anything in the folder changes: the report says what changed since then.
  const previous = await readPreviousRun(ctx.outDir, input.run.name);
  const drops: Drop[] = [...input.drops];
  // Splits are sticky across versions: rows of the latest version keep their split while the split
  // shares and seed stay the same (new groups are placed around them), whatever the splits are called.
  // The fingerprint keeps the form it had when validation was called val, so existing folders stay sticky.
  const splitFingerprint = fingerprint(
    'splits',
    { train: config.splits.train, val: config.splits.validation, test: config.splits.test, ...(config.splits.official ? { official: true } : {}) },
    config.seed,
  );
  const latest = await latestVersion(ctx.outDir);
  let pinned: Map<string, Split> | undefined;
  if (latest?.manifest.splitFingerprint === splitFingerprint && previous.kind === 'run') {
    const idOf = splitIdsOf(latest.manifest);
    pinned = new Map();
    for (const row of previous.rows) {
      const id = idOf.get(row.split);
      if (id) pinned.set(row.segmentId, id);
    }
  }
  // The splits are planned from the compact views (let go once planned); full segments stream past once, to rows.
  const splitOf = await planSplits(input.segments, config, pinned, ctx);
  ctx.log.info({ segments: input.segments.count }, 'splits planned');

  // Rows of each split in shard order, spilled to disk past a budget (an external sort).
  const spillDir = join(ctx.outDir, '.staging-rows');
  await rm(spillDir, { recursive: true, force: true });
  // Embedded media: a segment's rows side by side, so the row group's dictionary holds its media once.
  const orderKey = (row: Pick<Sample, 'id' | 'segment_id'>) => (config.embedMedia ? `${row.segment_id}\u0000${row.id}` : row.id);
  // One 48 MiB budget over the three splits, by their shares (a split's rows past its part spill).
  const budgets = sharedSpillBudgets({ train: config.splits.train, validation: config.splits.validation, test: config.splits.test });
  const rows: Record<Split, RowSpill<Sample>> = {
    train: new RowSpill(spillDir, 'train', budgets.train),
    validation: new RowSpill(spillDir, 'validation', budgets.validation),
    test: new RowSpill(spillDir, 'test', budgets.test),
  };
  const reviewedRows: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  // The report's digest grows as segments stream past: none of them is held.
  const digest = new DigestBuilder({ keepRows: previous.kind === 'run' });
  let segments = 0;
  const mediaKeys = new Set<string>();
  const keptIds = new Set<string>();
  stats.in += input.segments.count;
  for await (const segment of input.segments.stream()) {
    segments++;
    if (input.carry?.length) keptIds.add(segment.id);
    const split = splitOf(segment.id);
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
    digest.addKept(segment, made.rows[0].split, made.rows.length);
  }

  ctx.log.info({ segments, kept: stats.out }, 'rows made');

  async function addRow(split: Split, row: Sample): Promise<void> {
    await rows[split].add(orderKey(row), row);
    if (isReviewedSample(row)) reviewedRows[split]++;
    digest.addRows([row]);
  }

  // The publish guard: records that failed transiently this run keep the rows the published version
  // has for them (with the split that version gave them, named as this config names it).
  const carried = await carriedRows(ctx.outDir, input.run.name, input.carry ?? [], keptIds);
  if (carried.rows.length) {
    const idOf = splitIdsOf({ splitNames: carried.splitNames });
    for (const row of carried.rows) {
      const split = idOf.get(row.split);
      if (!split)
        throw new FatalError(
          `a published row (${row.id}) has split ${JSON.stringify(row.split)}, which the published manifest does not name: publish.allowPartial publishes without it`,
        );
      await addRow(split, { ...row, split: config.splitNames[split] });
      for (const key of mediaOf(row)) mediaKeys.add(key);
    }
    ctx.log.warn(
      { rows: carried.rows.length, records: carried.records, fromVersion: carried.fromVersion },
      'rows carried forward for records that failed transiently',
    );
  }
  // Each split's slab let go before the first is merged into shards.
  for (const split of SPLITS) await rows[split].finish();
  return {
    run: input.run,
    stats: input.stats,
    teacherUsage: input.teacherUsage,
    splitNames: config.splitNames,
    splitFingerprint,
    rows,
    spillDir,
    reviewedRows,
    digest,
    segments,
    drops,
    mediaKeys,
    carried,
    latest,
    previous,
    shards: { targetBytes: config.targetShardBytes, zstdLevel: config.zstdLevel, embedMedia: config.embedMedia },
  };
}

/** Each segment's split, planned from the sink's views: a lookup from segment id (the views are not kept). */
async function planSplits(
  segments: SinkSegments,
  config: WriteConfig,
  pinned: ReadonlyMap<string, Split> | undefined,
  ctx: SinkContext,
): Promise<(id: string) => Split> {
  const held = segments.takeViews() as { ids: SortedIds; views: readonly SinkView[] };
  const { ids, views } = held.views.length === segments.count ? held : await viewsOf(segments, config);
  sharedViews.delete(config);
  const place = (some: readonly SinkView[], idOf: (index: number) => string): Uint8Array => {
    const ties = config.footageTies ? footageTies(some, idOf) : undefined;
    if (ties?.size) ctx.log.info({ segments: ties.size }, 'segments tied to others of the same footage for the splits');
    return assignSplitCodes(some, idOf, config.splits, config.seed, pinned, ties);
  };
  // The corpus's own split outranks everything: an official test segment is never placed elsewhere,
  // even when its speaker has segments in other official splits (as the corpus's authors published them).
  return splitLookup(
    ids,
    officialThenPlaced(views, (i) => ids.idAt(i), place),
  );
}

/**
 * Each view's split as its index in SPLITS: a view's official split as it is; the others as `place`
 * puts them, given those views alone and their ids. Without official splits (the usual case) the
 * plan is `place`'s own codes, with no index of the views to place.
 */
export function officialThenPlaced<V extends { readonly official?: Split }>(
  views: readonly V[],
  idOf: (index: number) => string,
  place: (some: readonly V[], idOf: (index: number) => string) => Uint8Array,
): Uint8Array {
  let official = 0;
  for (const view of views) if (view.official) official++;
  if (official === 0) return place(views, idOf);
  const codes = new Uint8Array(views.length);
  const placed = new Int32Array(views.length - official);
  let next = 0;
  views.forEach((view, i) => {
    if (view.official) codes[i] = SPLITS.indexOf(view.official);
    else placed[next++] = i;
  });
  place(
    Array.from(placed, (i) => views[i]),
    (k) => idOf(placed[k]),
  ).forEach((code, k) => {
    codes[placed[k]] = code;
  });
  return codes;
}

/**
 * Segment id → split. Made outside planSplits: a closure made there would share its scope, which
 * holds the views (closures over `views` put it in that scope), for as long as the lookup lives.
 */
function splitLookup(ids: SortedIds, codes: Uint8Array): (id: string) => Split {
  return (id) => {
    const index = ids.indexOf(id);
    if (index < 0) throw new FatalError(`segment ${id} reached the write stage without a view: the corpus changed while it was written`);
    return SPLITS[codes[index]];
  };
}

/** Segment id → `footage:<kept id>` for segments whose footage matches another's (dedup's default thresholds). */
function footageTies(views: readonly SinkView[], idOf: (index: number) => string): Map<string, string> {
  const comparable: number[] = [];
  views.forEach((v, i) => {
    if (v.footage !== undefined) comparable.push(i);
  });
  const report = findFootageDuplicates(
    comparable.map((i) => ({ id: idOf(i), fingerprint: decodeFootage(views[i].footage!) })),
    DEFAULT_FOOTAGE_SEARCH,
  );
  const ties = new Map<string, string>();
  report.verdicts.forEach((verdict, k) => {
    if (verdict.kind !== 'duplicate') return;
    const kept = idOf(comparable[verdict.kept]);
    const key = `footage:${kept}`;
    ties.set(idOf(comparable[k]), key);
    ties.set(kept, key);
  });
  return ties;
}

/**
 * What the sink plans the splits from: group keys and label, the corpus's own split, the footage
 * fingerprint for ties. Not the segment's id: the runner hands the ids over beside the views.
 */
interface SinkView extends SplitPlace {
  readonly official?: Split;
  readonly footage?: FootageFingerprint;
}

/**
 * A segment's view. Segments with the same view share one object (the segments of a clip have the
 * same group keys, and mostly the same label), so a million segments hold a million references, not
 * a million views; a view with a footage fingerprint is the segment's own. Tables per run config,
 * so a long-lived process drops them with the run.
 */
function sinkView(segment: Segment, config: WriteConfig): SinkView {
  const official = config.splits.official ? segment.clip.manifest.officialSplit : undefined;
  const footage = config.footageTies && segment.fingerprint?.version === FOOTAGE_VERSION ? segment.fingerprint : undefined;
  const { keys, label } = splitMember(segment);
  let table = sharedViews.get(config);
  if (!table) sharedViews.set(config, (table = new Map()));
  const keysId = keys.join('\u0000');
  let shared = table.get(keysId);
  if (!shared) table.set(keysId, (shared = { keys, views: new Map() }));
  if (footage) return { keys: shared.keys, label, ...(official ? { official } : {}), footage };
  const viewId = `${label}\u0000${official ?? ''}`;
  let view = shared.views.get(viewId);
  if (!view) shared.views.set(viewId, (view = { keys: shared.keys, label, ...(official ? { official } : {}) }));
  return view;
}

const sharedViews = new WeakMap<WriteConfig, Map<string, { keys: readonly string[]; views: Map<string, SinkView> }>>();

/** The views, read from the segments themselves, sorted by segment id (when the runner did not take them). */
async function viewsOf(segments: SinkSegments, config: WriteConfig): Promise<{ ids: SortedIds; views: readonly SinkView[] }> {
  const viewed = new ViewsById<SinkView>();
  for await (const segment of segments.stream()) viewed.add(segment.id, sinkView(segment, config));
  return viewed.sortedWithIds();
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
  const tracks = visual.tracks.map((t) => ({
    id: t.id,
    frames: t.times.length,
    first: t.times[0],
    last: t.times[t.times.length - 1],
    meanExpressions: t.meanExpressions,
    geometry: t.geometry,
  }));
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
      transcript_en:
        segment.translation?.text ??
        (segment.transcript && /^en(-|$)/i.test(segment.transcript.language) ? segment.transcript.text : (segment.clip.manifest.textEn ?? null)),
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
