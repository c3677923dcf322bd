// What the review page shows: the samples of a finished out folder. A sample is one segment of the
// published rows (its `review_hash` names the content its rows were made from) or one the review
// stage dropped `human-rejected` (from rejects.parquet). Its text and cues come from the snapshot the
// review stage kept in the store, its media from the out folder: only files listed in
// OUT/media.jsonl, by their index entry, each given a number the page asks for. The page never sends
// a path; for rejected segments, whose media OUT no longer holds, the store serves it by the key
// the snapshot names.
import { join } from 'node:path';
import type { ReviewStatus, Segment } from '../../schemas/records.ts';
import { MediaPath } from '../../schemas/sample.ts';
import { ConsistencyConfig, agrees } from '../../stages/filter/consistency.ts';
import { EmotionVocabulary } from '../affect/emotion-words.ts';
import { groundRationale, GroundingConfig } from '../../stages/filter/grounding.ts';
import { FatalError } from '../errors.ts';
import { readMediaIndex } from '../media/out-media.ts';
import { readManifest } from '../publish/manifest.ts';
import { readRowsHyparquet, type ReadRow } from '../parquet/read.ts';
import { assertSafeKey, type Store } from '../store/store.ts';
import { readSnapshot, SNAPSHOT_PREFIX } from './snapshots.ts';

export type MediaSource = { readonly kind: 'out'; readonly file: string; readonly bytes: number } | { readonly kind: 'store'; readonly key: string };

export interface SampleMedia {
  readonly video: number | null;
  readonly audio: number | null;
  readonly frames: readonly { readonly media: number; readonly time: number | null }[];
  readonly faces: readonly { readonly media: number; readonly time: number | null }[];
}

export interface ReviewSample {
  /** the sample's number on the page */
  readonly index: number;
  readonly segmentId: string;
  readonly hash: string;
  readonly name: string;
  /** the published split; null for rejected segments */
  readonly split: string | null;
  /** the review status the published rows carry (rejected for segments the review stage dropped) */
  readonly published: ReviewStatus;
  /** false for segments the review stage dropped: they are in rejects.parquet, not in the shards */
  readonly inCorpus: boolean;
  /** the segment as the generating stages left it (teacher text, cues), before any edit */
  readonly snapshot: Segment;
  readonly media: SampleMedia;
  /** what the pipeline's grounding check finds in the rationale (the `flagged` queue) */
  readonly flags: readonly string[];
  /** the crosscheck teacher names another emotion than the labels teacher */
  readonly disagreement: boolean;
}

export interface ReviewSet {
  readonly corpus: string;
  readonly samples: readonly ReviewSample[];
  readonly media: readonly MediaSource[];
  /** published segments whose snapshot the store does not hold (reviewable once the run is repeated with this store) */
  readonly missingSnapshots: number;
}

/** The out folder cannot be reviewed as it is; the message says what to do. */
export class ReviewSetupError extends FatalError {
  override name = 'ReviewSetupError';
}

/** "[content 0123456789ab," in a human-rejected drop's detail: which content the reject judged. */
const REJECTED_CONTENT = /\[content ([0-9a-f]{12}),/;

export async function loadReviewSet(outDir: string, store: Store): Promise<ReviewSet> {
  const manifest = await readManifest(outDir);
  if (!manifest) throw new ReviewSetupError(`${outDir} has no manifest.json: review needs a finished out folder (run the pipeline first)`);
  const mediaIndex = await readMediaIndex(outDir);
  const media: MediaSource[] = [];
  const handles = new Map<string, number>();
  const handle = (source: MediaSource): number => {
    const id = source.kind === 'out' ? `out:${source.file}` : `store:${source.key}`;
    let n = handles.get(id);
    if (n === undefined) {
      n = media.length;
      media.push(source);
      handles.set(id, n);
    }
    return n;
  };
  // A row's path is served only when the index lists it, and then by the index's own entry.
  const fromOut = (value: unknown): number | null => {
    const path = mediaPathOf(value);
    const entry = path ? mediaIndex.get(path) : undefined;
    if (!entry || !MediaPath.safeParse(entry.file).success) return null;
    return handle({ kind: 'out', file: entry.file, bytes: entry.bytes });
  };
  const fromStore = (key: string | undefined): number | null => {
    if (!key?.startsWith('media/')) return null;
    try {
      assertSafeKey(key);
    } catch {
      return null;
    }
    return handle({ kind: 'store', key });
  };

  const bySegment = new Map<string, ReadRow>();
  for (const shard of manifest.shards) {
    for (const row of await readRowsHyparquet(join(outDir, shard.file))) {
      const id = String(row.segment_id);
      if (!bySegment.has(id) || String(row.task) === 'description') bySegment.set(id, row);
    }
  }
  const rows = [...bySegment.values()].sort((a, b) => (String(a.segment_id) < String(b.segment_id) ? -1 : 1));
  if (rows.length > 0 && rows.every((row) => typeof row.review_hash !== 'string')) {
    throw new ReviewSetupError(
      `the rows of ${outDir} carry no review_hash: the run had no review stage. Add "- review" to the config's stages (after the last generating stage, before filter) and run it again, then review`,
    );
  }

  const checks = { grounding: GroundingConfig.parse({}), consistency: ConsistencyConfig.parse({}), vocabulary: new EmotionVocabulary() };
  const samples: ReviewSample[] = [];
  let missingSnapshots = 0;
  const add = (snapshot: Segment, hash: string, fields: { split: string | null; published: ReviewStatus; inCorpus: boolean; media: SampleMedia }) => {
    samples.push({
      index: samples.length,
      segmentId: snapshot.id,
      hash,
      name: snapshot.clip.name,
      snapshot,
      ...fields,
      flags: flagsOf(snapshot, checks),
      disagreement: disagree(snapshot, checks),
    });
  };
  const loaded = await mapLimit(rows, 16, async (row) =>
    typeof row.review_hash === 'string' ? readSnapshot(store, String(row.segment_id), row.review_hash) : null,
  );
  rows.forEach((row, i) => {
    const snapshot = loaded[i];
    if (!snapshot) {
      missingSnapshots++;
      return;
    }
    const times = (list: readonly { time?: number }[] | undefined, n: number) => list?.[n]?.time ?? null;
    const frames = ((row.frames as unknown[] | null) ?? []).map((value, n) => ({ media: fromOut(value), time: times(snapshot.frames, n) }));
    const faces = ((row.face_crops as unknown[] | null) ?? []).map((value, n) => ({ media: fromOut(value), time: times(snapshot.cues?.visual?.crops, n) }));
    add(snapshot, String(row.review_hash), {
      split: String(row.split),
      published: statusOf(row.review),
      inCorpus: true,
      media: {
        video: fromOut(row.video),
        audio: fromOut(row.audio),
        frames: frames.filter((f): f is { media: number; time: number | null } => f.media !== null),
        faces: faces.filter((f): f is { media: number; time: number | null } => f.media !== null),
      },
    });
  });
  if (rows.length > 0 && missingSnapshots === rows.length) {
    throw new ReviewSetupError(
      `the store ${store.location} holds no review snapshot of ${outDir}'s rows: pass the --store the run used (and its review stage wrote to)`,
    );
  }

  // Segments the review stage dropped: shown so a decision can be revisited, with media from the store.
  const rejectsFile = manifest.rejects?.file ?? 'rejects.parquet';
  const rejects = await readRowsHyparquet(join(outDir, rejectsFile)).catch(() => [] as ReadRow[]);
  for (const reject of rejects) {
    if (reject.stage !== 'review' || reject.reason !== 'human-rejected') continue;
    const segmentId = String(reject.id);
    const prefix = REJECTED_CONTENT.exec(String(reject.detail))?.[1];
    if (!/^[0-9a-f]{64}$/.test(segmentId) || !prefix || bySegment.has(segmentId)) continue;
    const hash = await snapshotHash(store, segmentId, prefix);
    const snapshot = hash ? await readSnapshot(store, segmentId, hash) : null;
    if (!hash || !snapshot) continue;
    const stored = (list: readonly { key: string; time?: number }[] | undefined) =>
      (list ?? []).map((a) => ({ media: fromStore(a.key), time: a.time ?? null })).filter((f): f is { media: number; time: number | null } => f.media !== null);
    add(snapshot, hash, {
      split: null,
      published: 'rejected',
      inCorpus: false,
      media: {
        video: fromStore(snapshot.video?.key),
        audio: fromStore(snapshot.audio?.key),
        frames: stored(snapshot.frames),
        faces: stored(snapshot.cues?.visual?.crops),
      },
    });
  }
  return { corpus: manifest.corpus, samples, media, missingSnapshots };
}

function statusOf(value: unknown): ReviewStatus {
  return value === 'accepted' || value === 'edited' || value === 'rejected' ? value : 'none';
}

function mediaPathOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { path?: unknown }).path === 'string') return (value as { path: string }).path;
  return null;
}

async function snapshotHash(store: Store, segmentId: string, prefix: string): Promise<string | null> {
  for await (const key of store.list(`${SNAPSHOT_PREFIX}${segmentId}/`)) {
    const hash = key.slice(key.lastIndexOf('/') + 1).replace(/\.json$/, '');
    if (hash.startsWith(prefix)) return hash;
  }
  return null;
}

interface Checks {
  readonly grounding: GroundingConfig;
  readonly consistency: ConsistencyConfig;
  readonly vocabulary: EmotionVocabulary;
}

function flagsOf(segment: Segment, checks: Checks): string[] {
  if (!segment.rationale) return [];
  return groundRationale(segment, checks.grounding, checks.vocabulary).map((issue) => `rationale step ${issue.step} ${issue.why}`);
}

/** As the filter's teacher check reads it: either teacher naming the other's primary emotion agrees. */
function disagree(segment: Segment, checks: Checks): boolean {
  const { labels, crosscheck } = segment;
  if (!labels || !crosscheck) return false;
  return !(
    agrees(labels, crosscheck.primary, checks.consistency, checks.vocabulary) || agrees(crosscheck, labels.primary, checks.consistency, checks.vocabulary)
  );
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
