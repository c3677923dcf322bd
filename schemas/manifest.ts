// The out folder's manifest.json: what a publish wrote (shards with sha256, rejects, media index, stats,
// report and card), which version it is and what changed since its parent. The write stage writes it
// last; every reader (write's next publish, the publish guard, versions, inspect, trace, export, eval,
// review, audit) parses it with this schema, so a damaged or foreign file is said by name instead of
// failing later on a missing field.
// Fields that manifests of earlier emoforge versions lack are optional, and readers say what they
// assume without them. Object keys are listed in the order the write stage writes them: a version's
// `parent` and `diff` are copied from a parsed manifest into the next one byte for byte.
import { z } from 'zod';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Count = z.number().int().nonnegative();

/** One published Parquet file; `split` is the published split name. */
const ManifestShard = z.object({ file: z.string().min(1), split: z.string(), rows: Count, bytes: Count, sha256: Sha256 });

export const VersionParent = z.object({
  version: z.number().int().positive(),
  /** sha256 of the parent's manifest.json bytes */
  manifest: Sha256,
});
export type VersionParent = z.infer<typeof VersionParent>;

export const ClipChange = z.object({
  clipId: z.string(),
  name: z.string(),
  /** removed clips: the reason in this version's rejects (e.g. takedown), or `gone` when the source no longer lists it */
  reason: z.string().optional(),
});
export type ClipChange = z.infer<typeof ClipChange>;

export const VersionDiff = z.object({
  rows: z.object({ added: Count, removed: Count, changed: Count, kept: Count }),
  clips: z.object({ added: z.array(ClipChange).readonly(), removed: z.array(ClipChange).readonly(), changed: z.array(ClipChange).readonly() }),
  /** segments in both versions whose primary emotion changed */
  labelShifts: z.array(z.object({ segmentId: z.string(), name: z.string(), from: z.string(), to: z.string() })).readonly(),
  /** row ids, sorted */
  addedRows: z.array(z.string()).readonly(),
  removedRows: z.array(z.string()).readonly(),
  /** same row id, different content (any column, split included) */
  changedRows: z.array(z.string()).readonly(),
  /** rows kept from the parent for records that failed transiently in this run (pipelines/publish/publish-guard.ts) */
  carried: Count.optional(),
});
export type VersionDiff = z.infer<typeof VersionDiff>;

export const OutManifest = z.object({
  emoforge: z.string(),
  schemaVersion: z.number().int(),
  corpus: z.string(),
  configFingerprint: z.string(),
  stages: z.array(z.object({ name: z.string(), version: z.number().int(), fingerprint: z.string() })),
  shards: z.array(ManifestShard),
  /** rows per published split name */
  splits: z.record(z.string(), Count),
  /** the published name of each split; absent before splits could be renamed (validation was then published as `val`) */
  splitNames: z.object({ train: z.string(), validation: z.string(), test: z.string() }).optional(),
  /** split shares + seed; while it stays the same, rows keep the split the previous version gave them */
  splitFingerprint: z.string().optional(),
  rejects: z.object({ file: z.string().min(1), rows: Count, bytes: Count, sha256: Sha256 }),
  /** the human-reviewed subset (rows accepted or edited by a reviewer) as shards of its own under reviewed/; absent when no row was reviewed */
  reviewed: z.object({ shards: z.array(ManifestShard) }).optional(),
  /** every media file rows name, under OUT/media: the index (one line per file with bytes and sha256) and its totals; absent before media lived in OUT */
  media: z.object({ index: z.string().min(1), files: Count, bytes: Count, sha256: Sha256 }).optional(),
  stats: z.string(),
  /** the audit report and the dataset card (README.md with Hugging Face front matter) */
  report: z.string().optional(),
  card: z.string().optional(),
  /** 1, 2, …: +1 each time the published shards or rejects change (see pipelines/publish/versions.ts); absent before versions */
  version: z.number().int().positive().optional(),
  /** the version this one replaced and the sha256 of its manifest.json; null for version 1 */
  parent: VersionParent.nullable().optional(),
  /** what changed since the parent; null for version 1 */
  diff: VersionDiff.nullable().optional(),
  /** the clock time of a publish, in manifests written before versions replaced it */
  createdAt: z.string().optional(),
});
export type OutManifest = z.infer<typeof OutManifest>;
