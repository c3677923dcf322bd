// The publish guard: an outage never removes rows. A record that failed transiently (a teacher
// answering 500, a timeout, a killed child) is not the corpus shrinking, so a publish keeps the rows
// the published version has for it ("carried forward"); with no published version there is nothing
// to keep, and the run publishes nothing (exit 3) until a run gets through. `publish.allowPartial`
// publishes what the run has instead.
import { join } from 'node:path';
import type { OutManifest } from '../../schemas/manifest.ts';
import { Sample } from '../../schemas/sample.ts';
import type { Drop } from '../../schemas/records.ts';
import { FatalError } from '../errors.ts';
import { readRowsHyparquet } from '../parquet/read.ts';
import { readManifest } from './manifest.ts';

/** What failed transiently in a run, grouped for the message: the service, the stage, the reason. */
export interface TransientFailures {
  /** Records dropped by transient failures. */
  readonly records: number;
  /** One entry per service + stage + reason, most records first. */
  readonly failed: readonly { readonly service: string; readonly stage: string; readonly reason: string; readonly records: number }[];
}

export function transientFailures(drops: readonly Drop[]): TransientFailures {
  const groups = new Map<string, { service: string; stage: string; reason: string; records: number }>();
  let records = 0;
  for (const drop of drops) {
    if (drop.transient === undefined) continue;
    records++;
    const key = `${drop.transient}\u0000${drop.stage}\u0000${drop.reason}`;
    const group = groups.get(key) ?? { service: drop.transient, stage: drop.stage, reason: drop.reason, records: 0 };
    group.records++;
    groups.set(key, group);
  }
  const failed = [...groups.values()].sort((a, b) => b.records - a.records || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return { records, failed };
}

/** "12 records failed transiently (describe: service-unavailable 12 via teachers.llm.endpoint (…))". */
export function describeFailures(failures: TransientFailures): string {
  const what = failures.failed.map((f) => `${f.stage}: ${f.reason} ${f.records} (${f.service})`).join('; ');
  return `${failures.records} record${failures.records === 1 ? '' : 's'} failed transiently (${what})`;
}

/** The one-line message of a run that published nothing because records failed transiently. */
export function incompleteMessage(failures: TransientFailures): string {
  return `incomplete: ${failures.records} records failed transiently; run again. Nothing was published (no earlier version to keep their rows from). Failed: ${failures.failed.map((f) => `${f.service} in ${f.stage} (${f.reason}, ${f.records})`).join('; ')}. To publish without them set publish: { allowPartial: true }`;
}

/** The published manifest of `corpus` in `outDir`, if there is one. */
export async function publishedManifest(outDir: string, corpus: string): Promise<OutManifest | undefined> {
  const manifest = await readManifest(outDir);
  return manifest?.corpus === corpus ? manifest : undefined;
}

export interface CarriedRows {
  /** Rows of the published version, as they were (split = the published split name). */
  readonly rows: readonly Sample[];
  /** The transient drops whose record had rows to carry. */
  readonly records: number;
  readonly fromVersion: number | undefined;
  /** The published manifest's split names (id → name), to place carried rows in this config's splits. */
  readonly splitNames: OutManifest['splitNames'];
}

/**
 * The published rows of the records that failed transiently: a segment's rows by segment id, a clip
 * that failed before it had segments (a segment or ingest failure) by clip id. Rows of segments this
 * run wrote anyway are left out. Embedded media (`{bytes, path}`) are read back as their paths.
 */
export async function carriedRows(outDir: string, corpus: string, transient: readonly Drop[], written: ReadonlySet<string>): Promise<CarriedRows> {
  const manifest = await publishedManifest(outDir, corpus);
  if (!manifest || transient.length === 0) return { rows: [], records: 0, fromVersion: manifest?.version, splitNames: manifest?.splitNames };
  const bySegment = new Map<string, Drop>();
  const byClip = new Map<string, Drop>();
  for (const drop of transient) {
    if (drop.segment) bySegment.set(drop.id, drop);
    else if (drop.clipId) byClip.set(drop.clipId, drop);
  }
  const rows: Sample[] = [];
  const carried = new Set<Drop>();
  for (const shard of manifest.shards ?? []) {
    for (const raw of await readRowsHyparquet(join(outDir, shard.file))) {
      const segmentId = String(raw.segment_id);
      const drop = bySegment.get(segmentId) ?? byClip.get(String(raw.clip_id));
      if (!drop || written.has(segmentId)) continue;
      const row = Sample.safeParse(withMediaPaths(raw));
      if (!row.success)
        throw new FatalError(
          `${join(outDir, shard.file)} holds a row (${String(raw.id)}) that is no longer a valid sample (${row.error.issues[0]?.message}): publish.allowPartial publishes without it`,
        );
      rows.push(row.data);
      carried.add(drop);
    }
  }
  return { rows, records: carried.size, fromVersion: manifest.version, splitNames: manifest.splitNames };
}

const MEDIA_COLUMNS = ['video', 'audio', 'frames', 'face_crops'];

function withMediaPaths(raw: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = { ...raw };
  const pathOf = (value: unknown) => (value && typeof value === 'object' && 'path' in value ? (value as { path: unknown }).path : value);
  for (const column of MEDIA_COLUMNS) {
    const value = row[column];
    row[column] = Array.isArray(value) ? value.map(pathOf) : pathOf(value ?? null);
  }
  return row;
}
