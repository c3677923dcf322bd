// Reads a finished out folder the way every exporter needs it: the manifest, then every shard with
// the hyparquet reader, as typed rows in a fixed order (split, then row id), plus the file name
// each segment is exported under.
import { join } from 'node:path';
import { FatalError } from '../errors.ts';
import { readRowsHyparquet, type ReadRow } from '../parquet/read.ts';
import { SPLITS, type Split, type Task, type Turn } from '../../schemas/sample.ts';
import type { OutManifest } from '../../schemas/manifest.ts';
import { readManifest } from '../publish/manifest.ts';

/** The columns of a training row the exporters use. */
export interface CorpusRow {
  readonly id: string;
  readonly clipId: string;
  readonly segmentId: string;
  readonly name: string;
  readonly uri: string;
  readonly start: number;
  readonly end: number;
  readonly transcript: string;
  readonly language: string;
  /** the transcript in English (itself when English); null when untranslated or written before the column existed */
  readonly transcriptEn: string | null;
  readonly primaryEmotion: string;
  readonly openset: string[];
  readonly task: Task;
  readonly conversations: Turn[];
  /** media paths relative to the out folder */
  readonly video: string | null;
  readonly audio: string | null;
  /** the segment's face crops (JPEG), in time order, relative to the out folder */
  readonly faceCrops: string[];
  readonly teacher: string;
  readonly model: string;
  readonly template: string;
  readonly split: Split;
  /** human review: none, accepted, edited or rejected (none for corpora written before review existed) */
  readonly review: string;
}

export interface Corpus {
  readonly manifest: OutManifest;
  readonly rows: CorpusRow[];
  /** segment id → export name: the sanitised clip name, `<name>_<index>` when the clip has several segments */
  readonly names: Map<string, string>;
}

export async function readCorpus(outDir: string): Promise<Corpus> {
  const manifest = await readManifest(outDir);
  if (!manifest) throw new FatalError(`${outDir} has no manifest.json: export needs a finished out folder (one without a manifest is an unfinished run)`);
  // Rows carry the published split name (write.splitNames may rename one); exports work with the split ids.
  const published = manifest.splitNames ?? { train: 'train', validation: 'val', test: 'test' };
  const splitOf = new Map<string, Split>(SPLITS.map((s) => [published[s], s]));
  const rows: CorpusRow[] = [];
  for (const shard of manifest.shards) {
    for (const row of await readRowsHyparquet(join(outDir, shard.file))) {
      const split = splitOf.get(String(row.split));
      if (!split)
        throw new FatalError(
          `${join(outDir, shard.file)} has a row in split ${JSON.stringify(row.split)}, which manifest.json does not name: the out folder is damaged; run the pipeline again to rewrite it`,
        );
      rows.push({ ...corpusRow(row), split });
    }
  }
  const splitOrder = (s: Split) => SPLITS.indexOf(s);
  rows.sort((a, b) => splitOrder(a.split) - splitOrder(b.split) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { manifest, rows, names: exportNames(rows) };
}

function corpusRow(row: ReadRow): CorpusRow {
  return {
    id: String(row.id),
    clipId: String(row.clip_id),
    segmentId: String(row.segment_id),
    name: String(row.name),
    uri: String(row.uri),
    start: Number(row.start),
    end: Number(row.end),
    transcript: String(row.transcript ?? ''),
    language: String(row.language ?? 'und'),
    transcriptEn: typeof row.transcript_en === 'string' ? row.transcript_en : null,
    primaryEmotion: String(row.primary_emotion),
    openset: ((row.openset as unknown[] | null) ?? []).map(String),
    task: row.task as Task,
    conversations: ((row.conversations as { from: string; value: string }[] | null) ?? []).map((t) => ({
      from: t.from as Turn['from'],
      value: String(t.value),
    })),
    video: mediaPath(row.video),
    audio: mediaPath(row.audio),
    faceCrops: ((row.face_crops as unknown[] | null) ?? []).map(mediaPath).filter((p): p is string => p !== null),
    teacher: String(row.teacher),
    model: String(row.model),
    template: String(row.template),
    split: row.split as Split,
    review: typeof row.review === 'string' ? row.review : 'none',
  };
}

/** A media column's path: a plain string, or the path of an embedded `{bytes, path}` value. */
function mediaPath(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { path?: unknown }).path === 'string') return (value as { path: string }).path;
  return null;
}

const MAX_NAME_BYTES = 160;

/** Cells pandas' read_csv turns into NaN, and the booleans it parses: a name must never be one of them. */
const PANDAS_SPECIAL = new Set([
  '',
  '#n/a',
  '#n/a n/a',
  '#na',
  '-1.#ind',
  '-1.#qnan',
  '-nan',
  '1.#ind',
  '1.#qnan',
  '<na>',
  'n/a',
  'na',
  'null',
  'nan',
  'none',
  'true',
  'false',
]);
/** A cell pandas' read_csv may read as a number (underscores included, to be safe). */
const NUMERIC = /^[+-]?(inf|infinity|nan|[\d_]*\.?[\d_]*(e[+-]?[\d_]+)?)$/i;

/**
 * A clip name as a single safe file-name part: anything but letters, digits, `.`, `_` and `-`
 * becomes `_` (so no `/`, `\\` or NUL survives), leading dots go (no `..`, no hidden files), and the
 * result is cut to 160 UTF-8 bytes so `<name>_<index>.mp4` fits any file system's name limit. A name
 * pandas would read as a number, a boolean or NaN (`0001`, `1e5`, `NA`, `True`) gets `clip_` in
 * front: AffectGPT reads its CSVs with pandas and joins the name into file paths, so it must stay text.
 */
export function sanitiseName(name: string): string {
  let safe = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._-]/gu, '_')
    .replace(/^\.+/, '');
  while (Buffer.byteLength(safe) > MAX_NAME_BYTES) safe = [...safe].slice(0, -1).join('');
  if (PANDAS_SPECIAL.has(safe.toLowerCase()) || NUMERIC.test(safe)) safe = `clip_${safe}`;
  return safe;
}

/**
 * Export names, one per segment. A clip with several segments names them `<name>_<index>` in start
 * order; two clips whose names collide after sanitising both get `_<first 8 of clip id>` appended.
 */
function exportNames(rows: readonly CorpusRow[]): Map<string, string> {
  const clips = new Map<string, { name: string; segments: Map<string, number> }>();
  for (const row of rows) {
    const clip = clips.get(row.clipId) ?? { name: sanitiseName(row.name), segments: new Map() };
    clip.segments.set(row.segmentId, row.start);
    clips.set(row.clipId, clip);
  }
  const clipsPerName = new Map<string, number>();
  for (const clip of clips.values()) clipsPerName.set(clip.name, (clipsPerName.get(clip.name) ?? 0) + 1);
  const names = new Map<string, string>();
  for (const [clipId, clip] of clips) {
    const base = clipsPerName.get(clip.name)! > 1 ? `${clip.name}_${clipId.slice(0, 8)}` : clip.name;
    const segments = [...clip.segments].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    if (segments.length === 1) names.set(segments[0][0], base);
    else segments.forEach(([segmentId], index) => names.set(segmentId, `${base}_${index}`));
  }
  return names;
}
