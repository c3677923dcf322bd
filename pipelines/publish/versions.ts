// Versions of an out folder. Every publish whose content (shards + rejects + media) differs from the
// latest version gets the next number and a folder OUT/versions/<n>/ laid out like OUT itself:
// manifest.json, shards/*, rejects.parquet, media.jsonl, media/*, stats.json, README.md, report.html.
// Files there are hard links to the ones published in OUT (a copy only when the file system refuses
// links), so no shard or media file is stored twice, and a later publish, which replaces OUT's files by
// rename (and removes media the new version no longer names), leaves the old version's bytes intact.
// A version folder is built beside and renamed into place, so versions/<n>/ is complete or absent;
// the latest complete one is the parent of the next publish even if OUT/manifest.json is missing.
// The manifest carries version, parent (version + sha256 of its manifest.json) and the diff; it holds
// no clock time (identical inputs give a byte-identical manifest). The wall-clock time a version was
// made goes to versions/<n>/published.json, which nothing compares.
import { copyFile, link, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ClipChange, OutManifest, VersionDiff, VersionParent } from '../../schemas/manifest.ts';
import { sha256 } from '../fingerprint.ts';
import { MANIFEST_FILE, parseManifest, readManifestBytes } from './manifest.ts';

const VERSIONS_DIR = 'versions';

/** What decides whether two publications are the same version: shards, rejects and media index. */
type PublishedContent = Pick<OutManifest, 'shards' | 'rejects' | 'media'>;

export interface LatestVersion {
  readonly version: number;
  readonly dir: string;
  readonly manifest: OutManifest;
  /** sha256 of its manifest.json */
  readonly manifestSha256: string;
}

/** The highest complete version in OUT/versions, if any. */
export async function latestVersion(outDir: string): Promise<LatestVersion | undefined> {
  const root = join(outDir, VERSIONS_DIR);
  const numbers = (await readdir(root).catch(() => [] as string[]))
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number)
    .sort((a, b) => b - a);
  for (const version of numbers) {
    const dir = join(root, String(version));
    const bytes = await readManifestBytes(dir);
    if (!bytes) continue;
    return { version, dir, manifest: parseManifest(join(dir, MANIFEST_FILE), bytes), manifestSha256: sha256(bytes) };
  }
  return undefined;
}

/** Same published content: the same shard files with the same bytes, the same rejects and the same media. */
export function sameContent(a: PublishedContent, b: PublishedContent): boolean {
  if (a.shards.length !== b.shards.length || a.rejects.sha256 !== b.rejects.sha256 || a.media?.sha256 !== b.media?.sha256) return false;
  const want = new Map(a.shards.map((s) => [s.file, s.sha256]));
  return b.shards.every((s) => want.get(s.file) === s.sha256);
}

interface RowDigest {
  readonly id: string;
  readonly segmentId: string;
  readonly clipId: string;
  readonly name: string;
  readonly primary: string;
  readonly digest: string;
}

/**
 * Rows and clips added, removed and changed between the parent version (its folder) and the
 * publication in `outDir`; removed clips take their reason from this publication's rejects.
 */
export async function diffVersions(parentDir: string, parent: PublishedContent, outDir: string, current: PublishedContent): Promise<VersionDiff> {
  // DuckDB (~180 modules) loads only when there is a parent version to compare against.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const digests = async (dir: string, manifest: PublishedContent): Promise<Map<string, RowDigest>> => {
      const map = new Map<string, RowDigest>();
      if (manifest.shards.length === 0) return map;
      const list = manifest.shards.map((s) => sqlString(join(dir, s.file))).join(', ');
      // The whole row as text, hashed: any column that differs (split, labels, text) marks the row changed.
      const reader = await connection.runAndReadAll(`SELECT id, segment_id, clip_id, name, primary_emotion, md5(t::VARCHAR) FROM read_parquet([${list}]) t`);
      for (const [id, segmentId, clipId, name, primary, digest] of reader.getRows()) {
        map.set(String(id), {
          id: String(id),
          segmentId: String(segmentId),
          clipId: String(clipId),
          name: String(name),
          primary: String(primary),
          digest: String(digest),
        });
      }
      return map;
    };
    const before = await digests(parentDir, parent);
    const after = await digests(outDir, current);
    const rejected = new Map<string, string>();
    const rejectReader = await connection.runAndReadAll(
      `SELECT clip_id, reason FROM read_parquet(${sqlString(join(outDir, current.rejects.file))}) WHERE clip_id IS NOT NULL ORDER BY stage, id`,
    );
    for (const [clipId, reason] of rejectReader.getRows()) if (!rejected.has(String(clipId))) rejected.set(String(clipId), String(reason));

    const addedRows: string[] = [];
    const removedRows: string[] = [];
    const changedRows: string[] = [];
    const touched = new Set<string>();
    for (const [id, row] of after) {
      const was = before.get(id);
      if (!was) addedRows.push(id);
      else if (was.digest !== row.digest) {
        changedRows.push(id);
        touched.add(row.clipId);
      }
    }
    for (const id of before.keys()) if (!after.has(id)) removedRows.push(id);

    const clipsOf = (rows: Map<string, RowDigest>) => {
      const map = new Map<string, string>();
      for (const r of rows.values()) if (!map.has(r.clipId)) map.set(r.clipId, r.name);
      return map;
    };
    const clipsBefore = clipsOf(before);
    const clipsAfter = clipsOf(after);
    for (const id of [...addedRows, ...removedRows]) touched.add((after.get(id) ?? before.get(id))!.clipId);
    const byName = (a: ClipChange, b: ClipChange) => compare(a.name, b.name) || compare(a.clipId, b.clipId);
    const added = [...clipsAfter].filter(([id]) => !clipsBefore.has(id)).map(([clipId, name]) => ({ clipId, name }));
    const removed = [...clipsBefore].filter(([id]) => !clipsAfter.has(id)).map(([clipId, name]) => ({ clipId, name, reason: rejected.get(clipId) ?? 'gone' }));
    const changed = [...clipsAfter].filter(([id]) => clipsBefore.has(id) && touched.has(id)).map(([clipId, name]) => ({ clipId, name }));

    const segmentsBefore = new Map<string, RowDigest>();
    for (const r of before.values()) if (!segmentsBefore.has(r.segmentId)) segmentsBefore.set(r.segmentId, r);
    const shifts = new Map<string, { segmentId: string; name: string; from: string; to: string }>();
    for (const r of after.values()) {
      const was = segmentsBefore.get(r.segmentId);
      if (was && was.primary !== r.primary && !shifts.has(r.segmentId))
        shifts.set(r.segmentId, { segmentId: r.segmentId, name: r.name, from: was.primary, to: r.primary });
    }
    return {
      rows: { added: addedRows.length, removed: removedRows.length, changed: changedRows.length, kept: after.size - addedRows.length - changedRows.length },
      clips: { added: added.sort(byName), removed: removed.sort(byName), changed: changed.sort(byName) },
      labelShifts: [...shifts.values()].sort((a, b) => compare(a.name, b.name) || compare(a.segmentId, b.segmentId)),
      addedRows: addedRows.sort(compare),
      removedRows: removedRows.sort(compare),
      changedRows: changedRows.sort(compare),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Freezes the publication in `outDir` as versions/<version>/: hard links to `files` (paths relative
 * to outDir) plus the manifest text, built beside and renamed into place.
 */
export async function recordVersion(outDir: string, version: number, files: readonly string[], manifestText: string, createdAt: string): Promise<void> {
  const root = join(outDir, VERSIONS_DIR);
  const final = join(root, String(version));
  const building = join(root, `.building-${version}-${process.pid}`);
  await rm(building, { recursive: true, force: true });
  for (const file of files) {
    const target = join(building, file);
    await mkdir(dirname(target), { recursive: true });
    await link(join(outDir, file), target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EXDEV' && error.code !== 'EPERM' && error.code !== 'ENOTSUP') throw error;
      await copyFile(join(outDir, file), target);
    });
  }
  await writeFile(join(building, MANIFEST_FILE), manifestText);
  await writeFile(join(building, 'published.json'), JSON.stringify({ version, createdAt, manifestSha256: sha256(Buffer.from(manifestText)) }, null, 2));
  // A leftover folder of this number can only be an older half-finished attempt (complete ones are found by latestVersion).
  await rm(final, { recursive: true, force: true });
  await rename(building, final);
}

/** Version summary in one line, e.g. `version 3: +4 -2 ~0 rows; clips +1 -2 (takedown 1, gone 1) ~0; 1 label shift`. */
export function versionLine(version: number, unchanged: boolean, diff: VersionDiff | null | undefined, parent: VersionParent | null | undefined): string {
  if (unchanged) return `version ${version}: unchanged (same shards and rejects as published)`;
  if (!diff) return `version ${version}: first version${parent ? '' : ' of this out folder'}`;
  const reasons = new Map<string, number>();
  for (const c of diff.clips.removed) reasons.set(c.reason ?? 'gone', (reasons.get(c.reason ?? 'gone') ?? 0) + 1);
  const why = reasons.size ? ` (${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')})` : '';
  return (
    `version ${version} (parent ${parent?.version ?? '-'}): rows +${diff.rows.added} -${diff.rows.removed} ~${diff.rows.changed}; ` +
    `clips +${diff.clips.added.length} -${diff.clips.removed.length}${why} ~${diff.clips.changed.length}; ${diff.labelShifts.length} label shift(s)` +
    (diff.carried ? `; carried ${diff.carried}` : '')
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
